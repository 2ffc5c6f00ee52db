"""Issue 12's done-when: the built wheel, installed outside the repository, runs a new site.

The wheel is built offline (no build isolation: the test extra has setuptools) and installed
with --no-deps into a fresh venv; the dependencies come from this test environment through
PYTHONPATH, which (unlike a site dir) never runs the editable install's hooks, so only the
wheel's copy of `pipeline` can be imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, require

SOURCES = ("pipeline", "templates", "schemas", "pyproject.toml", "setup.py", "MANIFEST.in",
           "README.md")
EVENT = """\
title: "Typing night #2: protocols"
kind: meetup
start: 2030-03-12 18:30
duration: 2h
timezone: Europe/Lisbon
summary: Talks on typing.
"""
ISSUE = """\
title: March
date: 2030-03-01
period: {from: 2030-02-01, to: 2030-02-28}
intro: See you at [the meetup](https://lisbon.example.org/typing).
sections:
  - title: Get involved
    body: Give a talk.
"""


def run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    deps = sysconfig.get_paths()["purelib"]
    platform_deps = sysconfig.get_paths()["platlib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([deps, platform_deps])}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel built from this checkout."""
    require(importlib_has("setuptools"), "setuptools is not installed (pip install -e '.[test]')")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "_data", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    # The sdist first, and the wheel from the unpacked sdist: both must carry the theme.
    sdist = subprocess.run([sys.executable, "-c", "from setuptools.build_meta import build_sdist;"
                            f"print(build_sdist({str(base / 'sdist')!r}))"], cwd=source,
                           capture_output=True, text=True, timeout=300)
    assert sdist.returncode == 0, sdist.stderr
    archive = base / "sdist" / sdist.stdout.split()[-1]
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        tar.extractall(base / "unpacked", filter="data")
    assert any(n.endswith("/templates/email/issue.mjml.j2") for n in names), names
    assert any(n.endswith("/schemas/event.schema.json") for n in names), names
    unpacked = next((base / "unpacked").iterdir())
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", "-w", str(base / "dist"),
                            str(unpacked)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((base / "dist").glob("pipeline-*.whl"))
    with zipfile.ZipFile(wheel) as contents:
        shipped = set(contents.namelist())
    assert {"pipeline/_data/templates/email/issue.mjml.j2",
            "pipeline/_data/schemas/event.schema.json"} <= shipped
    venv = base / "venv"
    # No pip inside (ensurepip costs seconds): this environment's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"),
                           "install", "-q", "--no-index", "--no-deps", str(wheel)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return venv


def importlib_has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_a_new_site_builds_with_the_packaged_theme_and_its_branding(installed: Path,
                                                                    tmp_path: Path) -> None:
    where = run(installed, tmp_path, "python", "-c", "import pipeline; print(pipeline.__file__)")
    assert where.stdout.startswith(str(installed)), where  # the wheel, not the checkout
    site = tmp_path / "lisbon"
    assert run(installed, tmp_path, "pipeline", "init", "lisbon").returncode == 0
    (site / "events/typing-night.yaml").write_text(EVENT)
    (site / "newsletters/2030-03.yaml").write_text(ISSUE)
    settings = site / "pipeline.yaml"
    settings.write_text(settings.read_text().replace('"#c2410c"', '"#0b7a4b"')
                        .replace("1 Example Street", "Rua do Exemplo 7"))
    built = run(installed, site, "pipeline", "build", "--now", "2030-03-01")
    assert built.returncode == 0, built.stderr
    upcoming = (site / "output/calendar/upcoming.ics").read_text()
    assert "SUMMARY:Typing night #2: protocols" in upcoming
    html = (site / "output/newsletter/2030-03/index.html").read_text()
    assert "Typing night #2: protocols" in html and "Rua do Exemplo 7" in html
    assert "color:#0b7a4b" in html and "#c2410c" not in html  # the site's accent, everywhere
    # A site's own copy of one template wins over the packaged one.
    own = site / "templates/email/_section.mjml.j2"
    own.parent.mkdir(parents=True)
    packaged = installed.glob("lib/python*/site-packages/pipeline/_data/templates/email")
    theme = next(packaged)
    section = (theme / "_section.mjml.j2").read_text()
    assert "{{ section.title" in section  # else the copy below would change nothing
    own.write_text(section.replace("{{ section.title", "Our own: {{ section.title", 1))
    assert run(installed, site, "pipeline", "build", "--now", "2030-03-01").returncode == 0
    assert "Our own: Get involved" not in html
    assert "Our own: Get involved" in (site / "output/newsletter/2030-03/index.html").read_text()
    # `check` renders every issue: a template typo is found there, at its file and line.
    lines = own.read_text().splitlines()
    own.write_text("\n".join([*lines, "{{ section.titel }}", ""]))
    checked = run(installed, tmp_path, "pipeline", "check", "--site", "lisbon")
    assert checked.returncode == 1
    assert f"lisbon/templates/email/_section.mjml.j2:{len(lines) + 1}: rendering" in \
        checked.stderr, checked.stderr
    assert "Traceback" not in checked.stderr

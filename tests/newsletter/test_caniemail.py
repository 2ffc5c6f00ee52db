"""The e-mail HTML against caniemail's data: every unsupported feature has a reviewed fallback."""

from __future__ import annotations

import email
import json
import re
import subprocess
from contextlib import chdir
from email import policy
from pathlib import Path

from conftest import PINNED_NOW, ROOT, require, require_executable
from sample_issues import arabic_issue, stress_issue

from pipeline.build import load_inputs
from pipeline.newsletter.issues import render_newsletters

# Gmail, Apple Mail, Outlook (Windows, Windows Mail, macOS), Yahoo, Samsung, Thunderbird.
# doiuse-email 1.0.4 has caniemail's Outlook.com data but offers no client name for it.
CLIENTS = ("gmail.*", "apple-mail.*", "outlook.windows", "outlook.windows-mail", "outlook.macos",
           "yahoo.*", "samsung-email.*", "thunderbird.*")
ALLOWED = ROOT / "tests" / "caniemail-allowed.json"
REPORT = re.compile(r"`(.+)` is not supported by `(.+)`")


def email_html_files(folder: Path) -> list[Path]:
    """The HTML part of the bundled recap (English, Korean), an Arabic and a stress issue."""
    with chdir(ROOT):
        events, issues, settings = load_inputs(Path("events"), Path("newsletters"),
                                               Path("pipeline.yaml"))
        files = render_newsletters(events, issues, settings, PINNED_NOW)
        for make in (arabic_issue, stress_issue):
            sample_events, issue = make()
            files |= render_newsletters(sample_events, (issue,), settings, PINNED_NOW)
    paths = []
    for name, data in files.items():
        if name.endswith("message.eml"):
            message = email.message_from_bytes(data, policy=policy.default)
            path = folder / (name.split("/")[1] + ".html")
            path.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")  # type: ignore[union-attr]
            paths.append(path)
    return paths


def test_every_unsupported_feature_has_a_known_fallback(tmp_path: Path) -> None:
    node = require_executable("node")
    require((ROOT / "node_modules" / "@jsx-email" / "doiuse-email").is_dir(),
            "node_modules/@jsx-email/doiuse-email is missing; run `npm ci` at the repository root")
    paths = email_html_files(tmp_path)
    assert len(paths) == 3
    run = subprocess.run([node, str(ROOT / "tests" / "interop" / "caniemail.mjs"), ",".join(CLIENTS),
                          *map(str, paths)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr
    allowed = json.loads(ALLOWED.read_text(encoding="utf-8"))
    unexplained = set()
    for path, report in json.loads(run.stdout).items():
        for error in report["errors"]:
            match = REPORT.fullmatch(error)
            assert match, error
            feature, client = match.groups()
            if client not in allowed.get(feature, {}).get("clients", ()):
                unexplained.add(f"{Path(path).stem}: {feature} in {client}")
    assert not unexplained, ("add each to tests/caniemail-allowed.json with its fallback, or "
                             f"stop using it: {sorted(unexplained)}")


def test_the_allow_list_gives_a_reason_for_every_entry() -> None:
    allowed = json.loads(ALLOWED.read_text(encoding="utf-8"))
    for feature, entry in allowed.items():
        if feature.startswith("_"):
            continue
        assert entry["clients"] and len(entry["fallback"]) > 40, feature

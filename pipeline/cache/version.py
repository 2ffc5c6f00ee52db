"""The version every cache entry is sealed with: this package's source and its libraries."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from functools import cache
from pathlib import Path

FORMAT = 7  # 7: fragments.bin; 6: event-data.jsonl; 5: facts; 4: web shares; 3: JSON lines; 2: pickle
# The libraries whose behaviour reaches a cached value or an output, by import name and the
# normalized prefix of their installed distribution's `*.dist-info` folder.
LIBRARIES = {"icalendar": "icalendar-", "yaml": "pyyaml-", "dateutil": "python_dateutil-",
             "jinja2": "jinja2-", "mjml": "mjml_python-", "markdown_it": "markdown_it_py-",
             "nh3": "nh3-", "tzdata": "tzdata-", "babel": "babel-", "markupsafe": "markupsafe-"}


@cache
def code_version() -> str:
    """A hash of every module of the `pipeline` package and of the libraries' versions."""
    digest = hashlib.sha256(f"{FORMAT}|{sys.version}|{library_versions()}|{zone_data()}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def zone_data() -> list[str]:
    """The version line of each system zone database zoneinfo may read (VTIMEZONEs are cached).

    zoneinfo prefers these folders to the tzdata package: an OS update of tzdata must make
    every cached VTIMEZONE miss.
    """
    import zoneinfo

    versions = []
    for folder in zoneinfo.TZPATH:
        try:
            with open(os.path.join(folder, "tzdata.zi"), "rb") as handle:
                versions.append(f"{folder}:{handle.readline(80)!r}")
        except OSError:
            continue
    return versions


def library_versions() -> list[str]:
    """Each library's dist-info folder name (its version), found without importing it.

    Importing icalendar and Jinja2 costs more than an unchanged build; importlib.metadata
    costs 0.2 s. A library found nowhere counts as its location alone.
    """
    found = []
    listings: dict[str, list[str]] = {}
    for module, prefix in sorted(LIBRARIES.items()):
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec and spec.origin else ""
        site = os.path.dirname(os.path.dirname(origin))
        if site not in listings:
            try:
                listings[site] = sorted(os.listdir(site)) if site else []
            except OSError:
                listings[site] = []
        dists = [name for name in listings[site] if name.lower().startswith(prefix)
                 and name.endswith(".dist-info")]
        found.append(f"{module}:{dists or origin}")
    return found

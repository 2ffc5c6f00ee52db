"""The version every cache entry is sealed with: this package's source and its libraries."""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from pathlib import Path

FORMAT = 3  # 3: JSON lines sealed per line (2 was a pickle: never read again)


@cache
def code_version() -> str:
    """A hash of every module of the `pipeline` package and of the libraries whose output we cache."""
    import dateutil
    import icalendar
    import jinja2
    import mjml
    import yaml

    libraries = "|".join(getattr(module, "__version__", "?")
                         for module in (icalendar, yaml, dateutil, jinja2))
    # mjml-python has no __version__, and importlib.metadata costs 0.2 s: its dist-info's name.
    site = Path(mjml.__file__).parent.parent
    mjml_dist = sorted(name for name in os.listdir(site) if name.startswith("mjml_python-"))
    digest = hashlib.sha256(f"{FORMAT}|{sys.version}|{libraries}|{mjml_dist}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()

"""The cache's version changes with the code, the libraries and the system's zone database."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest

from pipeline.cache import version


def test_a_new_system_zone_database_is_a_new_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Cached VTIMEZONEs come from the zone database: an OS update of it must make them miss.
    (tmp_path / "tzdata.zi").write_bytes(b"# version 2025a\n")
    monkeypatch.setattr(zoneinfo, "TZPATH", (str(tmp_path),))
    before = version.code_version.__wrapped__()
    (tmp_path / "tzdata.zi").write_bytes(b"# version 2025b\n")
    assert version.code_version.__wrapped__() != before


def test_library_versions_are_read_without_importing_the_libraries():
    found = version.library_versions()
    assert any(item.startswith("icalendar:['icalendar-") for item in found), found
    assert any(item.startswith("mjml:['mjml_python-") for item in found), found

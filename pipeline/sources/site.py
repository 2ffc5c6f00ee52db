"""A site is a folder: pipeline.yaml, events/, newsletters/, templates/ and output/ inside it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import PipelineError, display_path

SETTINGS_FILE = "pipeline.yaml"
# Where the wheel carries the repository's templates/ and schemas/ (setup.py's build hook).
PACKAGE = Path(__file__).resolve().parent.parent
SHIPPED = PACKAGE / "_data"


@dataclass(frozen=True, slots=True)
class Site:
    """The folder every default path resolves against (never the working directory)."""

    root: Path
    config: Path | None  # the settings file; None: no pipeline.yaml, built-in defaults

    def path(self, given: Path | None, default: str) -> Path:
        """A folder given on the command line as typed, else `default` inside the site."""
        return given if given is not None else self.root / default


def locate_site(site: Path | None, config: Path | None) -> Site:
    """`--site DIR`, else the working directory; `--config FILE` only picks the settings file."""
    if site is not None and not site.is_dir():
        raise PipelineError(f"--site {display_path(site)} is not a folder; give the folder "
                            f"that holds {SETTINGS_FILE} (or run `pipeline init` to make one)")
    root = site if site is not None else Path(".")
    if config is None and (root / SETTINGS_FILE).is_file():
        config = root / SETTINGS_FILE
    return Site(root, config)


def packaged(folder: str) -> Path:
    """A folder the package ships (`templates`, `schemas`), installed or in the repository.

    An installed wheel has it under pipeline/_data/; a source checkout and an editable
    install read the repository's own top-level folder, the one copy that is edited.
    """
    shipped = SHIPPED / folder
    return shipped if shipped.is_dir() else PACKAGE.parent / folder


def theme_fingerprint(site: Path | None, theme: str) -> str:
    """A SHA-256 of what a theme renders with besides the data: its templates and catalogs."""
    from pipeline.locales import LOCALE_DIR

    digest = hashlib.sha256()
    for folder in (*theme_folders(site, theme), LOCALE_DIR):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix != ".po":  # catalogs are read compiled (.mo)
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def theme_folders(site: Path | None, theme: str) -> tuple[Path, ...]:
    """Where `templates/<theme>` files are looked up, first match wins: the site's, then the package's."""
    shipped = packaged("templates") / theme
    own = site / "templates" / theme if site is not None else None
    return (own, shipped) if own is not None and own.is_dir() else (shipped,)

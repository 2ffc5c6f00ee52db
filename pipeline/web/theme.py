"""The pages' Jinja2 environment (translatable strings), locale and brand colours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from pipeline.errors import PipelineError, display_path
from pipeline.locales import Localizer, first_localizer
from pipeline.sources.branding import rgb
from pipeline.sources.settings import Settings
from pipeline.sources.site import theme_fingerprint, theme_folders

THEME = "templates/web"  # inside a site folder, and inside the package
EVENT_PAGE = "event.html.j2"
LISTING_PAGE = "listing.html.j2"
MACROS = "_macros.html.j2"  # its `event_item` renders each event's card
LIGHT_BACKGROUND = "#ffffff"
DARK_BACKGROUND = "#111318"
MIN_CONTRAST = 4.5  # WCAG AA for body text


@dataclass(frozen=True, slots=True)
class Site:
    """What every page's frame shows."""

    name: str
    lang: str
    dir: str  # `ltr` or `rtl` (CLDR, from the locale), for `dir=`
    accent: str
    link: str  # the accent, adjusted to read as text on the light background
    link_dark: str  # ... and on the dark one
    home: str  # the listing's address
    embed: str  # events.json's address


def environment(site: Path | None = None, words: Localizer | None = None) -> jinja2.Environment:
    """Autoescaping Jinja2 over the site's templates/web/, then the packaged theme, with `_()`."""
    folders = theme_folders(site, "web")
    if not any((folder / EVENT_PAGE).is_file() for folder in folders):
        raise PipelineError(
            f"{THEME}/{EVENT_PAGE} not found in {' or '.join(map(display_path, folders))}: "
            "the installed package lacks its theme; reinstall it (pip install pipeline)")
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(f) for f in folders]), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    return (words or first_localizer()).install(env)


def fingerprint(site: Path | None) -> str:
    """A SHA-256 of the pages' templates and catalogs (what they render with besides data)."""
    return theme_fingerprint(site, "web")


def site_locale(settings: Settings) -> str:
    """The pages' language (BCP 47): settings' `locale`."""
    return settings.locale


def accent_color(settings: Settings) -> str:
    """The brand's accent colour (settings' `branding.accent_color`), as the e-mail uses it."""
    return settings.branding.accent_color


def readable(colour: str, background: str) -> str:
    """`colour`, darkened or lightened until text in it reads on `background` (WCAG AA)."""
    target = (0, 0, 0) if _luminance(rgb(background)) > 0.5 else (255, 255, 255)
    channels = rgb(colour)
    for step in range(21):
        mixed = tuple(round(c + (t - c) * step / 20) for c, t in zip(channels, target, strict=True))
        if _contrast(mixed, rgb(background)) >= MIN_CONTRAST:
            return "#{:02x}{:02x}{:02x}".format(*mixed)
    return "#{:02x}{:02x}{:02x}".format(*target)


def _luminance(rgb: tuple[int, ...]) -> float:
    """WCAG relative luminance."""
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    red, green, blue = (linear(c) for c in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def _contrast(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)

"""The `branding:` settings: accent colour, logo, footer, postal address, subscribe page, social."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipeline.sources.fields import Fields

# Dark enough on white for WCAG AA body text (5.2:1); PyTorch's #ee4c2c is only 3.6:1.
DEFAULT_ACCENT = "#c2410c"
# The colour goes into CSS and style attributes: only a hex colour can never break out.
HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
KEYS = ("accent_color", "logo", "footer", "postal_address", "subscribe_url", "social")
LOGO_KEYS = ("src", "alt", "width")
MAX_LOGO_WIDTH = 600  # the e-mail's content width


@dataclass(frozen=True, slots=True)
class Logo:
    """The image at the top of every issue."""

    src: str  # absolute URL, or a path under base_url
    alt: str
    width: int


@dataclass(frozen=True, slots=True)
class SocialLink:
    """A titled link in the footer (Mastodon, LinkedIn, a forum)."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Branding:
    """How the newsletter looks and what its footer says; one setting for each."""

    accent_color: str = DEFAULT_ACCENT
    logo: Logo | None = None
    footer: str = ""  # Markdown
    postal_address: str = ""  # required in bulk mail by CAN-SPAM and several countries
    subscribe_url: str = ""  # empty: no "subscribe" sentence anywhere
    social: tuple[SocialLink, ...] = ()

    @property
    def accent_color_dark(self) -> str:
        """The accent for dark mode: the same hue mixed 60% with white, readable on #111318."""
        return tint(self.accent_color, 0.6)


def rgb(colour: str) -> tuple[int, int, int]:
    """The channels of a checked hex colour (#rgb or #rrggbb)."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    red, green, blue = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    return red, green, blue


def tint(colour: str, amount: float) -> str:
    """`colour` (#rgb or #rrggbb) mixed with white by `amount` (0..1), as #rrggbb."""
    return "#" + "".join(f"{round(c + (255 - c) * amount):02x}" for c in rgb(colour))


def read_branding(fields: Fields) -> Branding | None:
    """The `branding:` mapping; None when absent. Problems are recorded at their lines."""
    nested = fields.mapping("branding", "{accent_color: \"#c2410c\", ...}")
    if nested is None:
        return None
    nested.reject_unknown(KEYS)
    values: dict = {}
    colour = nested.text("accent_color", one_line=True)
    if colour is not None and not HEX_COLOUR.fullmatch(colour):
        nested.error("accent_color", f"'branding.accent_color' {colour!r} is not a hex colour; "
                     "write it quoted with six digits, e.g. \"#c2410c\" (unquoted, # starts "
                     "a YAML comment)")
    elif colour is not None:
        values["accent_color"] = colour.lower()
    logo = _logo(nested)
    if logo is not None:
        values["logo"] = logo
    for key in ("footer", "postal_address"):
        text = nested.text(key)
        if text is not None:
            values[key] = text
    subscribe = nested.url("subscribe_url")
    if subscribe is not None:
        values["subscribe_url"] = subscribe
    social = []
    for item in nested.mappings("social", ("title", "url"), "each social link must be a "
                                "mapping with 'title' and 'url'"):
        title = item.text("title", required=True, one_line=True)
        url = item.url("url", required=True)
        if title and url:
            social.append(SocialLink(title, url))
    values["social"] = tuple(social)
    return Branding(**values)


def _logo(fields: Fields) -> Logo | None:
    logo = fields.mapping("logo", "{src: https://.../logo.png, alt: ...}")
    if logo is None:
        return None
    logo.reject_unknown(LOGO_KEYS)
    src = logo.text("src", required=True, one_line=True)
    alt = logo.text("alt", required=True, one_line=True)
    width = logo.get("width", (int,), "a whole number of pixels")
    if width is not None and not 1 <= width <= MAX_LOGO_WIDTH:
        logo.error("width", f"'branding.logo.width' {width} is not between 1 and "
                   f"{MAX_LOGO_WIDTH} (pixels; the e-mail is {MAX_LOGO_WIDTH} wide)")
        return None
    if src and (re.search(r"[\s\"'<>\\]", src) or urlsplit(src).scheme not in ("", "http", "https")):
        logo.error("src", f"'branding.logo.src' {src!r} must be an http(s) URL or a path under "
                   "base_url, without spaces, quotes or angle brackets")
        return None
    return Logo(src, alt, width or 120) if src and alt else None

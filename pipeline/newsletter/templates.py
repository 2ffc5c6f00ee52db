"""The e-mail theme (the site's templates/email/ over the packaged one) and the MJML compiler.

Template and MJML mistakes become `templates/email/NAME:LINE: message` errors users can act on.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2
import mjml

from pipeline.errors import PipelineError, display_path
from pipeline.newsletter.wrapping import break_opportunities, display_width, underline, wrap
from pipeline.sources.site import packaged
from pipeline.sources.site import theme_folders as site_theme_folders

THEME = "templates/email"  # inside a site folder, and inside the package
ISSUE_MJML = "issue.mjml.j2"
ISSUE_TEXT = "issue.txt.j2"
ARCHIVE_HTML = "archive.html.j2"
# No web fonts: mjml-python would otherwise link five Google Fonts into every issue.
FONTS: dict[str, str] = {}
POSITION = re.compile(r"position (\d+)")
MARKER = re.compile("\x00(\\d+)\x00")  # NUL: refused in every input, so never in output
TAG_EDGE = re.compile(r"\{[{%#]|[}%#]\}")


def _autoescape(name: str | None) -> bool:
    # Markup templates escape every value; the plain-text version must not.
    return not (name or "").endswith(".txt.j2")


def theme_folders(site: Path | None) -> tuple[Path, ...]:
    """Where e-mail templates are looked up: the site's templates/email/, then the package's."""
    return site_theme_folders(site, "email")


def environment(site: Path | None = None, globals_: dict | None = None) -> jinja2.Environment:
    """A Jinja2 environment over the site's templates, then the packaged theme."""
    folders = theme_folders(site)
    if not any((folder / ISSUE_MJML).is_file() for folder in folders):
        raise PipelineError(
            f"{THEME}/{ISSUE_MJML} not found in {' or '.join(map(display_path, folders))}: "
            "the installed package lacks its theme; reinstall it (pip install pipeline)")
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(f) for f in folders]),
        autoescape=_autoescape, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    env.filters.update(wbr=break_opportunities, wrap=wrap, underline=underline,
                       width=display_width)
    env.globals.update(globals_ or {})
    return env


def folders_of(env: jinja2.Environment) -> tuple[Path, ...]:
    """The template folders of an environment made by `environment`, first match first."""
    loaders = getattr(env.loader, "loaders", [env.loader])
    return tuple(Path(p) for loader in loaders for p in getattr(loader, "searchpath", []))


def shown(path: Path) -> str:
    """A template's path as users find it: in their site, or `templates/email/X (packaged)`."""
    shipped = packaged("templates").resolve()
    if path.resolve().is_relative_to(shipped):
        return f"{THEME}/{path.name} (packaged theme)"
    return display_path(path)


def render(env: jinja2.Environment, name: str, for_what: str, **context: object) -> str:
    """Render template `name`; template mistakes become `template:line: message` errors."""
    with _template_errors(env, name, for_what):
        text = env.get_template(name).render(**context)
    return text


def render_macro(env: jinja2.Environment, name: str, macro: str, for_what: str,
                 *arguments: object) -> str:
    """Call macro `macro` of template `name` (errors as `render` gives them), as text."""
    with _template_errors(env, name, for_what):
        text = str(getattr(env.get_template(name).module, macro)(*arguments))
    return text


@contextmanager
def _template_errors(env: jinja2.Environment, name: str, for_what: str) -> Iterator[None]:
    """Template mistakes inside as `template:line: message` PipelineErrors."""
    try:
        yield
    except jinja2.TemplateSyntaxError as error:
        where = f"{shown(Path(error.filename))}:{error.lineno}" if error.filename else name
        raise PipelineError(f"{where}: template syntax error: {error.message}") from None
    except jinja2.TemplateNotFound as error:
        raise PipelineError(f"{for_what}: template {error.name!r} not found in "
                            f"{' or '.join(map(display_path, folders_of(env)))}") from None
    except (jinja2.UndefinedError, TypeError, ValueError, AttributeError) as error:
        where = _template_line(error, env) or f"{THEME}/{name}"
        raise PipelineError(f"{where}: rendering {for_what} failed: {error}; check the "
                            "variable names against docs/newsletter.md") from None


def compile_mjml(source: str, for_what: str,
                 origin: Callable[[str], str | None] | None = None) -> str:
    """MJML to HTML in-process; `origin(error)` names the template line behind an error."""
    try:
        html = mjml.mjml2html(source, fonts=FONTS)
    except Exception as error:  # the binding raises bare ValueError and friends
        where = origin(str(error)) if origin is not None else None
        raise PipelineError(
            f"{where or for_what}: MJML could not compile the issue's e-mail ({error}); a "
            "bare '<' or '&' must be escaped, and every mj- tag closed") from None
    return with_main_landmark(html)


def with_main_landmark(html: str) -> str:
    """The body's content inside `<main>`: MJML writes no landmark, and screen readers need one.

    (An `mj-raw` cannot hold an unclosed `<main>`: MJML's parser then swallows the body.)
    """
    start = html.index(">", html.index("<body")) + 1
    end = html.rindex("</body>")
    return f"{html[:start]}<main>{html[start:end]}</main>{html[end:]}"


def mjml_origin(env: jinja2.Environment, name: str, context: dict, source: str,
                message: str) -> str | None:
    """`template:line` that rendered the MJML at the error's position, when it says one.

    mjml-python gives a byte offset in the rendered MJML. The template is rendered again
    with a marker at the start of every output line naming its template and line; if that
    render, markers removed, is the same text, the marker before the offset is exact.
    Otherwise the rendered line is looked up in the templates (values as wildcards).
    """
    match = POSITION.search(message)
    if not match:
        return None
    offset = len(source.encode("utf-8")[:int(match.group(1))].decode("utf-8", "ignore"))
    origins: list[str] = []
    try:
        marked_env = env.overlay(loader=_MarkingLoader(env.loader, origins), cache_size=0)
        marked = marked_env.get_template(name).render(**context)
    except jinja2.TemplateError:
        marked = ""
    parts = MARKER.split(marked)
    clean, at = [], 0
    found = None
    for index, part in enumerate(parts):
        if index % 2:  # a marker: the origin of what follows
            if at <= offset:
                found = origins[int(part)]
            continue
        clean.append(part)
        at += len(part)
    if found is not None and "".join(clean) == source:
        return found
    return _matching_line(env, source, offset)


class _MarkingLoader(jinja2.BaseLoader):
    """Another loader's templates with a marker at the start of each plain output line."""

    def __init__(self, inner: jinja2.BaseLoader | None, origins: list[str]) -> None:
        self.inner = inner
        self.origins = origins

    def get_source(self, environment, template):  # type: ignore[override]
        assert self.inner is not None
        source, filename, uptodate = self.inner.get_source(environment, template)
        lines, inside, stripped = [], False, False
        for number, line in enumerate(source.split("\n"), 1):
            # Lines inside or starting with a tag or comment, and lines whose blanks a `-`
            # (`-#}` before, `{{-` within) strips, are left alone: a marker there would
            # change what trim_blocks, lstrip_blocks and the `-` do.
            plain = not line.lstrip().startswith(("{%", "{#")) and not any(
                edge in line for edge in ("{{-", "{%-", "{#-"))
            if not inside and not stripped and plain:
                self.origins.append(f"{shown(Path(filename or template))}:{number}")
                line = f"\x00{len(self.origins) - 1}\x00{line}"
            for token in TAG_EDGE.findall(line):
                inside = token.startswith("{")
            stripped = line.rstrip().endswith(("-%}", "-#}", "-}}"))
            lines.append(line)
        return "\n".join(lines), filename, uptodate


def _matching_line(env: jinja2.Environment, source: str, offset: int) -> str | None:
    """The first template line (site first) that could have rendered the line at `offset`."""
    start = source.rfind("\n", 0, offset) + 1
    end = source.find("\n", offset)
    rendered = source[start:end if end >= 0 else len(source)].strip()
    if not rendered:
        return None
    for folder in folders_of(env):
        for template in sorted(folder.glob("*.mjml.j2")):
            for number, line in enumerate(template.read_text("utf-8").splitlines(), 1):
                if _same_line(line.strip(), rendered):
                    return f"{shown(template)}:{number}"
    return None


def _same_line(template_line: str, rendered: str) -> bool:
    """True when `rendered` could be `template_line` with its {{ }} and {% %} filled in."""
    if not template_line or template_line.startswith("{#"):
        return False
    parts = re.split(r"\{\{.*?\}\}|\{%.*?%\}", template_line)
    if not "".join(parts).strip():
        return False
    pattern = ".*?".join(re.escape(part) for part in parts)
    return re.fullmatch(pattern, rendered, re.DOTALL) is not None


def _template_line(error: BaseException, env: jinja2.Environment) -> str | None:
    """`template:line` of the innermost template frame of the error, when there is one."""
    folders = [folder.resolve() for folder in folders_of(env)]
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.suffix == ".j2" and any(path.resolve().is_relative_to(f) for f in folders):
            found = f"{shown(path)}:{frame.lineno}"
    return found

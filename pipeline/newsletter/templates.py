"""The Jinja2 templates of templates/email/ and the MJML compiler, with errors users can act on."""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2
import mjml

from pipeline.errors import PipelineError, display_path
from pipeline.newsletter.wrapping import break_opportunities, display_width, underline, wrap

TEMPLATES_DIR = Path("templates/email")  # relative to the working directory: the repo root
ISSUE_MJML = "issue.mjml.j2"
ISSUE_TEXT = "issue.txt.j2"
ARCHIVE_HTML = "archive.html.j2"
# No web fonts: mjml-python would otherwise link five Google Fonts into every issue.
FONTS: dict[str, str] = {}


def _autoescape(name: str | None) -> bool:
    # Markup templates escape every value; the plain-text version must not.
    return not (name or "").endswith(".txt.j2")


def environment(folder: Path = TEMPLATES_DIR) -> jinja2.Environment:
    """A Jinja2 environment over `folder`; a missing folder is a PipelineError."""
    if not (folder / ISSUE_MJML).is_file():
        raise PipelineError(
            f"{display_path(folder)}/{ISSUE_MJML} not found: newsletter issues need the "
            f"templates of {TEMPLATES_DIR}/. Run pipeline from the folder that holds "
            f"{TEMPLATES_DIR}/ (the repository root), or copy that folder from the project.")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=_autoescape,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
    env.filters.update(wbr=break_opportunities, wrap=wrap, underline=underline,
                       width=display_width)
    return env


def render(env: jinja2.Environment, name: str, for_what: str, **context: object) -> str:
    """Render template `name`; template mistakes become `template:line: message` errors."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as error:
        where = f"{display_path(Path(error.filename))}:{error.lineno}" if error.filename \
            else name
        raise PipelineError(f"{where}: template syntax error: {error.message}") from None
    except jinja2.TemplateNotFound as error:
        raise PipelineError(f"{for_what}: template {error.name!r} not found in "
                            f"{_folder(env)}/") from None
    except (jinja2.UndefinedError, TypeError, ValueError) as error:
        where = _template_line(error, env) or f"{_folder(env)}/{name}"
        raise PipelineError(f"{where}: rendering {for_what} failed: {error}; check the "
                            "variable names against docs/newsletter.md") from None


def compile_mjml(source: str, for_what: str) -> str:
    """MJML to HTML in-process; a compile error names the issue being rendered."""
    try:
        html = mjml.mjml2html(source, fonts=FONTS)
    except Exception as error:  # the binding raises bare ValueError and friends
        raise PipelineError(
            f"{for_what}: MJML could not compile the issue's e-mail ({error}); check the "
            f"MJML in {TEMPLATES_DIR}/ (a bare '<' or '&' must be escaped)") from None
    return with_main_landmark(html)


def with_main_landmark(html: str) -> str:
    """The body's content inside `<main>`: MJML writes no landmark, and screen readers need one.

    (An `mj-raw` cannot hold an unclosed `<main>`: MJML's parser then swallows the body.)
    """
    start = html.index(">", html.index("<body")) + 1
    end = html.rindex("</body>")
    return f"{html[:start]}<main>{html[start:end]}</main>{html[end:]}"


def _folder(env: jinja2.Environment) -> str:
    loader = env.loader
    paths = getattr(loader, "searchpath", None) or [str(TEMPLATES_DIR)]
    return display_path(Path(paths[0]))


def _template_line(error: BaseException, env: jinja2.Environment) -> str | None:
    """`template:line` of the innermost template frame of the error, when there is one."""
    folder = Path(_folder(env)).resolve()
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.suffix == ".j2" and path.resolve().is_relative_to(folder):
            found = f"{display_path(path)}:{frame.lineno}"
    return found

"""Newsletter issue files (`newsletters/*.yaml`) become validated, frozen `Issue`s."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import InvalidInput, Problem, display_path
from pipeline.model import Issue, Section
from pipeline.sources.events import read_links, regular_files, yaml_entries
from pipeline.sources.fields import MAX_SLUG, SLUG, Fields, read_fields, suggest
from pipeline.sources.settings import Settings
from pipeline.sources.yamlsource import excerpt

ISSUE_KEYS = ("id", "title", "subject", "preheader", "date", "period", "select", "intro",
              "outro", "sections", "looking_ahead", "lang")


def load_issues(folder: Path, settings: Settings) -> tuple[Issue, ...]:
    """Every issue file of `folder` (a missing folder has none), newest first."""
    if not folder.is_dir():
        return ()
    problems: list[Problem] = []
    issues: dict[str, Issue] = {}
    for path in regular_files(yaml_entries(folder), "newsletter issue", problems):
        issue = load_issue(path, settings, problems)
        if issue is None:
            continue
        if issue.id in issues:
            first = issues[issue.id]
            problems.append(Problem(issue.source, issue.id_line, f"issue id '{issue.id}' is "
                                    f"already used by {first.source}:{first.id_line}; give this "
                                    "issue another id"))
            continue
        issues[issue.id] = issue
    if problems:
        raise InvalidInput(problems)
    return tuple(sorted(issues.values(), key=lambda i: (i.date, i.id), reverse=True))


def load_issue(path: Path, settings: Settings, problems: list[Problem]) -> Issue | None:
    """One issue file as an Issue; its problems are appended to `problems`."""
    before = len(problems)
    f = read_fields(path, display_path(path), "newsletter issue", problems)
    if f is None:
        return None
    data = f.data
    f.reject_unknown(ISSUE_KEYS)
    # `id:` left empty (YAML null) means the default, as a missing key does.
    issue_id = f.slug("id") if data.get("id") is not None else path.stem
    if data.get("id") is None and not (SLUG.match(path.stem) and len(path.stem) <= MAX_SLUG):
        problem = "is not a slug" if not SLUG.match(path.stem) else f"is over {MAX_SLUG} characters"
        f.error(None, f"the file name {excerpt(path.stem)} {problem}; rename the file or add "
                "an 'id:'", line=1)
    # title is the Subject when there is no subject: both become an e-mail header.
    title = f.header_text("title", required=True)
    date = f.date("date", required=True)
    period = f.mapping("period", "{from: YYYY-MM-DD, to: YYYY-MM-DD}")
    if period is None and data.get("period") is None:
        f.error(None, "missing required key 'period' ({from: YYYY-MM-DD, to: YYYY-MM-DD})")
    start = end = None
    if period is not None:
        period.reject_unknown(("from", "to"))
        start, end = period.date("from", required=True), period.date("to", required=True)
        if start and end and end < start:
            period.error("to", f"'period.to' {end} is before 'period.from' {start}")
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    select = f.mapping("select", "{kinds: [meetup], tags: [...]}")
    if select is not None:
        select.reject_unknown(("kinds", "tags"))
        kinds = select.text_list("kinds", lambda k, _: None if k in settings.kinds else
                                 f"kind '{k}' is not known"
                                 + (suggest(k, settings.kinds)
                                    or f"; use one of: {', '.join(settings.kinds)}"))
        # Event tags are slugs, so 'Korea' would silently select nothing.
        tags = select.text_list("tags", lambda t, _: None if SLUG.match(t) else
                                f"tag {excerpt(t)} is not a slug; use lowercase letters, digits "
                                "and '-'")
    looking_ahead = _looking_ahead(f)
    issue = Issue(
        id=issue_id or "", title=title or "", date=date or start or end,  # type: ignore[arg-type]
        period_start=start, period_end=end,  # type: ignore[arg-type]
        subject=f.header_text("subject") or "",
        preheader=f.text("preheader", one_line=True), kinds=kinds, tags=tags,
        intro=f.text("intro"), outro=f.text("outro"), sections=_sections(f),
        looking_ahead=looking_ahead, lang=f.locale("lang"), source=f.path,
        id_line=f.data.key_lines.get("id", 1))
    return issue if len(problems) == before else None


def _looking_ahead(f: Fields) -> int | None:
    value = f.data.get("looking_ahead", True)
    if value is True or value is None:
        return None
    if value is False:
        return 0
    if isinstance(value, int) and value >= 0:
        return value
    f.error("looking_ahead", f"'looking_ahead' must be true, false or a number of events, "
            f"not {excerpt(value)}")
    return None


def _sections(f: Fields) -> tuple[Section, ...]:
    sections = []
    for s in f.mappings("sections", ("title", "body", "links"), "each section must be a "
                        "mapping with 'title', 'body' and optional 'links'"):
        title = s.text("title", required=True, one_line=True)
        if title:
            sections.append(Section(title, s.text("body"), read_links(s, "links")))
    return tuple(sections)

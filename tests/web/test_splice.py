"""web/splice.py: a listing's cards written as bytes give the bytes of the plain render."""

from __future__ import annotations

import jinja2
import pytest
from markupsafe import Markup

from pipeline.web.content import Cards, EventCard
from pipeline.web.splice import Splice

CARDS = [EventCard("https://e.org/a/", True, 2025, (), "<li>Café</li>".encode()),
         EventCard("https://e.org/b/", True, 2025, (), "<li>Tea 🍵</li>".encode())]

# Written as it is (spliced), and used in every other way a template might (rendered again).
USES = ["{{ up.html }}", "{{ up.html }}{{ up.html }}", "{% set h = up.html %}{{ h }}{{ h }}",
        "{{ up.html ~ '!' }}", "{{ up.html|safe }}", "{{ up.html|e }}", "{{ up.html|string }}",
        "{{ up.html|default('none') }}", "{{ [up.html, up.html]|join(',') }}",
        "{% for card in up %}{{ card.html }}{% endfor %}", "{{ up.html|upper }}",
        "{{ up.html|length }}", "{{ up.html[:9] }}", "{{ up.html|replace('<li', '<li x') }}",
        "{{ up.html|striptags }}", "{{ up.html|truncate(9) }}", "{% if up.html %}y{% endif %}",
        "{{ up.html|trim }}", "{{ up.html|indent(2) }}", "{{ '%s!'|format(up.html) }}",
        "{{ up.html == '' }}", "{{ up.html|list|length }}", "{{ up.html|wordcount }}",
        "{{ up.html|reverse }}", "{{ up.html|first }}", "{{ up.html|title }}",
        "{{ up.html|tojson }}", "{{ 'li' in up.html }}", "{{ up.html * 2 }}",
        "{{ up.html + up.html }}", "{{ up.html|urlencode }}", "{{ up.html|center(60) }}"]


@pytest.mark.parametrize("use", USES)
def test_a_spliced_page_is_the_plain_render_whatever_the_template_does(use):
    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    template = env.from_string("<ul>\n" + use + "\n</ul>\n")
    plain = template.render(up=Cards(CARDS)).encode()
    splice = Splice()
    cards = Cards(CARDS)
    cards.splice = splice
    spliced = splice.fill(template.render(up=cards))
    assert spliced in (None, plain)  # None: rendered again the plain way
    if use in USES[:9]:
        assert spliced == plain  # written as it is: the fast way was taken


def test_plain_html_is_the_items_a_line_each():
    assert Cards(CARDS).html == Markup("<li>Café</li>\n<li>Tea 🍵</li>")
    assert Cards().html == Markup("")


def test_text_that_looks_like_a_placeholder_stays_text():
    # The token is random per page: input text shaped like a placeholder is not replaced,
    # and a page whose own placeholder went missing is not spliced at all.
    splice = Splice()
    real = splice.mark([b"<li>x</li>"])
    fake = "<!--" + "f" * 32 + ":0-->"
    assert splice.fill("".join([fake, real])) == f"{fake}<li>x</li>".encode()  # as Jinja joins
    assert splice.fill(fake) is None

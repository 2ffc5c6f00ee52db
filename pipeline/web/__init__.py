"""Web: takes events, settings and now (with the Jinja2 templates of templates/web/).

Gives the event pages, the listing, one page per feed and events.json, as bytes.
"""

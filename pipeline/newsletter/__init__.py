"""Newsletter: takes issues, events and settings (with the MJML + Jinja2 templates).

Gives each issue's web page, plain text and .eml, the archive page and the Atom feed, as bytes.
"""

"""In-page navigation for long pages: a table of contents built from the page's own
second-level headings, so it never lists a section the person cannot see (sections shown by
role and state) and never needs to be kept in step with the template by hand.

A template wraps the part to list in ``{% filter with_contents %}…{% endfilter %}``."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

HEADING = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)
MINIMUM = 3  # fewer sections than this: the page is short enough without one


def with_contents(body: str) -> Markup:
    """``body`` preceded by « Sur cette page », a list of links to its ``<h2 id>``."""
    body = Markup(body)
    entries = [(anchor, Markup(title).striptags()) for anchor, title in HEADING.findall(body)]
    if len(entries) < MINIMUM:
        return body
    items = "".join(f'<li><a href="#{escape(a)}">{escape(t)}</a></li>' for a, t in entries)
    return (
        Markup(
            '<nav class="toc" aria-labelledby="sur-cette-page">'
            '<h2 id="sur-cette-page">Sur cette page</h2>'
            f"<ul>{items}</ul></nav>\n"
        )
        + body
    )

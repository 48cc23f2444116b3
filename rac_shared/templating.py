"""Jinja2 environments for pages, e-mails and documents: autoescaped, with French filters,
and French typography applied to everything a template renders (``french.typeset``)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from rac_shared import french
from rac_shared.formatting import JINJA_FILTERS


def _escape_unless_plain_text(template_name: str | None) -> bool:
    """Everything is HTML-escaped except plain-text e-mail parts (``*.txt.j2``)."""
    return not (template_name or "").endswith((".txt.j2", ".txt"))


class TypesetTemplate(Template):
    """A template whose output gets the one typographic filter, once per rendering (macros
    and included templates are part of their page's one pass)."""

    def render(self, *args, **kwargs) -> str:
        return french.typeset(self.name, super().render(*args, **kwargs))


def make_environment(*template_dirs: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(d) for d in template_dirs]),
        autoescape=_escape_unless_plain_text,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.template_class = TypesetTemplate
    env.filters.update(JINJA_FILTERS)
    env.filters.update(french.JINJA_FILTERS)
    return env

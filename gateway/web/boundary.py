"""What no input may carry past the gateway, checked once for every route.

- **Control characters.** PostgreSQL refuses a NUL in text (a 500 if it gets that far), and
  the other C0 controls, DEL and lone UTF-16 surrogates have no place in anything a person
  types: they are refused (422, the field named) in query strings, posted forms and JSON
  bodies, before any handler or service sees them. Tab, line feed and carriage return are
  kept (a text area, a description on several lines; a query parameter that must not hold
  them, such as the login page's ``suite``, is checked where it is read).
- **Nesting.** ``json.loads`` recurses once per level: 100 000 ``[`` exhaust the stack. A
  body nested deeper than ``MAX_JSON_DEPTH`` is refused (400) by a scan that does not
  recurse, before the body is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

MAX_JSON_DEPTH = 32

CONTROL_MESSAGE = "Ce champ contient un caractère de contrôle non permis."
TOO_DEEP_MESSAGE = f"Le corps de la requête est trop imbriqué ({MAX_JSON_DEPTH} niveaux au plus)."

# C0 controls but tab, LF and CR; DEL; lone surrogates (JSON's "\ud800" decodes to one).
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays and objects more than ``limit`` deep.

    Strings removed, only brackets kept; each pass deletes the innermost pairs (a C loop
    over the bytes), so ``limit`` passes empty any balanced body within the limit. A body
    cut short is left to the parser (a 400 of its own) unless its unclosed brackets alone
    are too many."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    for _ in range(limit):
        reduced = _INNERMOST.sub(b"", brackets)
        if reduced == brackets:  # nothing left to match (empty, or unbalanced leftovers)
            break
        brackets = reduced
    else:
        if _INNERMOST.search(brackets):  # pairs still nested inside after ``limit`` passes
            return True
    # Unbalanced leftovers (a body cut short): the parser would recurse once per opener.
    return brackets.count(b"[") + brackets.count(b"{") > limit


def control_in_text(value: str) -> bool:
    return _CONTROL_IN_TEXT.search(value) is not None


def fields_with_controls(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """The names (in order, once each) of the posted or query fields whose name or value
    holds a character no input may hold."""
    found: dict[str, None] = {}
    for name, value in pairs:
        if control_in_text(name) or (isinstance(value, str) and control_in_text(value)):
            found[_printable(name)] = None
    return list(found)


def _printable(name: str) -> str:
    """A field's name as a message may quote it (its control characters as « ? »)."""
    return _ANY_CONTROL.sub("?", name)


def json_paths_with_controls(data, path: tuple = ()) -> Iterator[str]:
    """The paths (``lines.0.label``) of the strings, keys included, holding a control
    character in a parsed JSON body (bounded by ``too_deep``: the recursion is shallow)."""
    if isinstance(data, str):
        if control_in_text(data):
            yield ".".join(map(str, path)) or "corps"
    elif isinstance(data, dict):
        for key, value in data.items():
            if control_in_text(key):
                yield ".".join(map(str, (*path, _printable(key))))
                continue
            yield from json_paths_with_controls(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from json_paths_with_controls(value, (*path, index))

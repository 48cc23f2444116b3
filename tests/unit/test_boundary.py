"""The gateway's boundary checks: nesting depth without recursion, control characters."""

from __future__ import annotations

import json

from gateway.web.boundary import (
    MAX_JSON_DEPTH,
    fields_with_controls,
    json_paths_with_controls,
    too_deep,
)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_depth_within_the_limit_passes_and_beyond_is_refused_without_recursion():
    assert not too_deep(nested(MAX_JSON_DEPTH))
    assert too_deep(nested(MAX_JSON_DEPTH + 1))
    assert too_deep(b"[" * 100_000)  # would exhaust json.loads' stack
    assert too_deep(b'{"a":' * 40 + b"1" + b"}" * 40)


def test_brackets_inside_strings_do_not_count():
    body = json.dumps({"texte": "[[[[{{{{" * 100, "liste": [[1], [2], {"b": "]]]"}]}).encode()
    assert not too_deep(body)
    escaped = json.dumps({"t": 'un \\" guillemet [[[' * 50}).encode()
    assert not too_deep(escaped)


def test_flat_bodies_with_many_siblings_are_not_deep():
    assert not too_deep(b"[" + b"[]," * 200_000 + b"[]]")


def test_control_characters_are_found_by_path_tab_and_newline_allowed_in_text():
    body = {"email": "a\u0000@b.c", "notes": "ligne 1\nligne 2\tfin\r\n", "lines": [{"x": "\x1b"}]}
    assert list(json_paths_with_controls(body)) == ["email", "lines.0.x"]
    assert list(json_paths_with_controls({"k": "\ud800"})) == ["k"]  # a lone surrogate
    assert list(json_paths_with_controls({"a\x00": "x"})) == ["a?"]


def test_query_strings_refuse_every_control_and_forms_keep_tab_and_newline():
    assert fields_with_controls([("q", "a\tb")], query=True) == ["q"]
    assert fields_with_controls([("q", "a\tb"), ("r", "x\ny")]) == []
    assert fields_with_controls([("email", "a\x00b"), ("email", "c\x07")]) == ["email"]

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
    assert too_deep(b"[" * 33 + b"]" * 33 + b"[")  # deep, then cut short


def test_a_body_cut_short_is_left_to_the_parser_unless_its_unclosed_brackets_are_many():
    assert not too_deep(b'{"email": "a@b.c", "password": "faux"')
    assert not too_deep(b'{"a": [1, {"b": 2}')
    assert not too_deep(b"]]]}}}")
    assert too_deep(b"[{" * 17)


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


def test_fields_keep_tab_and_newline_and_refuse_other_controls():
    assert fields_with_controls([("q", "a\tb"), ("r", "x\r\ny")]) == []
    assert fields_with_controls([("q\x00", "x")]) == ["q?"]
    assert fields_with_controls([("email", "a\x00b"), ("email", "c\x07")]) == ["email"]

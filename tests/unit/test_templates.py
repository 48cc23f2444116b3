"""Jinja environments: HTML autoescaped, plain-text e-mail parts left alone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jinja2 import UndefinedError

from rac_shared.templating import make_environment

HOSTILE = "<script>alert('x')</script> & {{ 7*7 }}"


@pytest.fixture
def env(tmp_path):
    (tmp_path / "page.html.j2").write_text("<p>{{ value }}</p>\n", encoding="utf-8")
    (tmp_path / "mail.txt.j2").write_text("Bonjour {{ value }}\n", encoding="utf-8")
    (tmp_path / "mail.html.j2").write_text("<p>{{ value }}</p>\n", encoding="utf-8")
    (tmp_path / "amount.html.j2").write_text("{{ amount | money }}", encoding="utf-8")
    (tmp_path / "safe.html.j2").write_text("{{ value | safe }}", encoding="utf-8")
    (tmp_path / "missing.html.j2").write_text("{{ nothing }}", encoding="utf-8")
    return make_environment(tmp_path)


def test_html_templates_are_escaped(env):
    html = env.get_template("page.html.j2").render(value=HOSTILE)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; {{ 7*7 }}" in html
    assert "49" not in html  # template syntax in data is never evaluated
    assert env.get_template("mail.html.j2").render(value=HOSTILE).count("&lt;script&gt;") == 1


def test_plain_text_templates_are_not_escaped(env):
    text = env.get_template("mail.txt.j2").render(value=HOSTILE)
    assert text == f"Bonjour {HOSTILE}"
    assert "49" not in text


def test_string_templates_are_escaped(env):
    assert env.from_string("{{ v }}").render(v="<b>") == "&lt;b&gt;"


def test_safe_is_an_explicit_opt_out(env):
    assert env.get_template("safe.html.j2").render(value="<b>gras</b>") == "<b>gras</b>"


def test_french_filters_are_available(env):
    assert env.get_template("amount.html.j2").render(amount=Decimal("250000")) == (
        "250\xa0000,00\xa0$"
    )


def test_undefined_variables_fail_loudly(env):
    with pytest.raises(UndefinedError):
        env.get_template("missing.html.j2").render()

"""The look every page shares (the Québec design system, gateway/static/sdg): the vendored kit
is complete, every table of every page scrolls inside its own labelled region rather than
the page, a removal is confirmed on a page of its own that says what will happen, and the
favicon and the design system's fonts are served with their types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from gateway.web.contents import with_contents
from gateway.web.framework import REGISTRY, Ctx
from gateway.web.pages import STATIC_DIR
from services.applications.testing import LEVIS_RAC
from tests.support.gateway_app import gateway_app

TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "templates"
SDG = STATIC_DIR / "sdg"


def test_the_vendored_design_system_names_its_version_and_licence_and_has_its_fonts():
    assert re.search(r"^qc-trousse-sdg \d+\.\d+\.\d+$", (SDG / "VERSION").read_text(), re.M)
    assert "licence: ISC" in (SDG / "VERSION").read_text()
    css = (SDG / "css" / "qc-sdg-no-grid.min.css").read_text()
    fonts = set(re.findall(r'url\("\.\./fonts/([^"]+)"\)', css))
    assert fonts and all((SDG / "fonts" / name).is_file() for name in fonts)


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.j2"))
)
def test_every_table_scrolls_inside_a_labelled_region_not_the_page(template):
    """On a phone a wide table scrolls by itself (WCAG 1.4.10); the region can take the
    keyboard's focus (to scroll it) and is named by the table's caption or heading."""
    source = (TEMPLATES / template).read_text()
    for match in re.finditer(r"<table[ >]", source):
        before = source[max(0, match.start() - 300) : match.start()]
        region = before[before.rfind("<div") :]
        assert 'class="table-scroll" role="region"' in region, f"{template}: bare <table>"
        assert 'tabindex="0"' in region and "aria-labelledby=" in region, template
        label = re.search(r'aria-labelledby="([^"]+)"', region).group(1)
        assert f'id="{label}"' in source, f"{template}: nothing has the id {label}"


def _render(endpoint: str, **url_args) -> str:
    spec = next(s for s in REGISTRY if s.endpoint == endpoint and s.methods == ("GET",))
    app = gateway_app(rpc=None)
    path = spec.path
    for name, value in url_args.items():
        path = re.sub(rf"<(?:int:)?{name}>", str(value), path)
    ctx = Ctx(app=app, request=Request(EnvironBuilder(path=path).get_environ()))
    ctx.actor = LEVIS_RAC
    ctx.unread_messages = 0
    ctx.csrf_token = lambda: "jeton"
    return spec.handler(ctx, **url_args).get_data(as_text=True)


def test_withdrawing_an_application_is_confirmed_on_a_page_that_says_what_will_happen():
    html = _render("application_withdraw_confirm", application_id=5)
    assert "<h1>Retirer la demande\u202f?</h1>" in html  # French spacing
    assert "ne sera plus examinée" in html
    main = html[html.index("<main") :]
    form = re.search(r'<form method="post" action="([^"]+)"', main).group(1)
    assert form == "/demandes/5/retirer"  # the same path, posted: the action itself
    assert '<button type="submit" class="danger">Retirer la demande</button>' in html
    assert 'href="/demandes/5">Revenir sans rien changer</a>' in html


def test_the_application_page_links_to_the_confirmation_instead_of_acting_at_once():
    source = (TEMPLATES / "applications" / "application.html.j2").read_text()
    assert '<a class="button danger" href="/demandes/{{ app.id }}/retirer">' in source
    assert 'action="/demandes/{{ app.id }}/retirer"' not in source


def test_the_favicon_and_the_fonts_are_served_with_their_types():
    client = Client(gateway_app(rpc=None))
    favicon = client.get("/favicon.ico")
    assert favicon.status_code == 200 and favicon.mimetype == "image/x-icon"
    font = client.get("/static/sdg/fonts/open-sans-v43-latin-regular.woff2")
    assert font.status_code == 200 and font.mimetype == "font/woff2"
    script = client.get("/static/feedback.js")
    assert script.mimetype == "text/javascript"


def test_a_long_page_lists_its_own_sections_first_in_their_order():
    body = "".join(
        f'<section><h2 id="s{i}">Partie <em>{i}</em> &amp; suite</h2><p>…</p></section>'
        for i in range(1, 5)
    )
    html = str(with_contents(body))
    assert html.startswith('<nav class="toc" aria-labelledby="sur-cette-page">')
    links = re.findall(r'<a href="#(s\d)">([^<]+)</a>', html)
    assert links == [(f"s{i}", f"Partie {i} &amp; suite") for i in range(1, 5)]
    assert html.endswith(body)


def test_a_short_page_or_headings_without_an_id_get_no_contents():
    two = "".join(f'<h2 id="s{i}">Partie {i}</h2>' for i in range(2))
    assert str(with_contents(two)) == two
    no_ids = "".join(f"<h2>Partie {i}</h2>" for i in range(6))
    assert str(with_contents(no_ids)) == no_ids

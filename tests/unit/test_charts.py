"""Server-side charts (matplotlib → inline SVG) and the dashboard built on them: accessible
markup (role, French title and description), no inline style (the page's CSP would drop it),
ids unique on a page, deterministic output, fr_CA numbers; the dashboard page, its CSV
exports and JSON API from the services' figures, one RPC per service, and a service that
cannot answer leaving its sections "indisponibles" while the page still renders."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from werkzeug.wrappers import Request

from gateway import charts
from gateway.web.dashboard import pages as dashboard
from gateway.web.framework import REGISTRY, Ctx, HttpError, json_response
from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.errors import DomainError, forbidden
from tests.support.gateway_app import gateway_app

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & {{ 7*7 }}"


def money_chart(chart_id="graphique-test", title="Financement par CERAC"):
    return charts.Chart(
        chart_id,
        title,
        "Barres horizontales empilées.",
        ["Cégep de Lévis", HOSTILE],
        [charts.Series("Fonctionnement", ["200000.00", "250000"]),
         charts.Series("Projets", ["50000", 0])],
        kind="stacked",
        horizontal=True,
        unit="money",
        reference_line=(250000, "Plafond : 250 000 $"),
    )  # fmt: skip


def test_the_svg_is_an_accessible_image_with_a_french_title_and_description():
    svg = charts.render(money_chart())
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "graphique-test-title graphique-test-desc"
    title, desc = root[0], root[1]
    assert (title.tag, title.get("id"), title.text) == (
        f"{SVG}title",
        "graphique-test-title",
        "Financement par CERAC",
    )
    assert (desc.tag, desc.get("id")) == (f"{SVG}desc", "graphique-test-desc")
    assert root.get("viewBox") and root.get("width") is None  # scales with the page


def test_no_inline_style_survives_and_colours_become_attributes():
    svg = charts.render(money_chart())
    assert "style=" not in svg and "<style" not in svg and "<metadata" not in svg
    assert 'fill="#0072b2"' in svg.lower() and 'fill="#d55e00"' in svg.lower()
    assert "font-family=" in svg and 'font-size="11px"' in svg


def test_labels_are_french_and_user_text_is_escaped():
    svg = charts.render(money_chart())
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "250\xa0000\xa0$" in texts  # the value axis and the stacked total, fr_CA
    assert "Cégep de Lévis" in texts  # long names wrap on lines; text nodes, never markup
    assert "<script>alert(1)</script> &" in texts and "{{ 7*7 }}" in texts
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Plafond : 250 000 $" in texts


def test_ids_are_prefixed_per_chart_so_two_charts_share_a_page():
    first = charts.render(money_chart("graphique-a"))
    second = charts.render(money_chart("graphique-b"))
    ids_a = re.findall(r' id="([^"]+)"', first)
    ids_b = re.findall(r' id="([^"]+)"', second)
    assert ids_a and all(i.startswith("graphique-a-") for i in ids_a)
    assert not set(ids_a) & set(ids_b)
    for reference in re.findall(r"url\(#([^)]+)\)", first):
        assert reference in ids_a  # clip paths point inside their own chart


def test_the_same_figures_give_the_same_bytes():
    chart = money_chart()
    first = charts.render(chart)
    charts._cache.clear()
    assert charts.render(chart) == first


@pytest.mark.parametrize("kind", ["bar", "stacked", "line"])
def test_every_kind_renders_and_an_empty_chart_says_so(kind):
    chart = charts.Chart(f"k-{kind}", "Titre", "Description", ["janv. 2026", "févr. 2026"],
                         [charts.Series("Émises", [3, 4]), charts.Series("Acceptées", [1, 2])],
                         kind=kind)  # fmt: skip
    assert ET.fromstring(charts.render(chart)).get("role") == "img"
    empty = charts.render(charts.Chart("vide", "Titre", "Aucune donnée.", [], []))
    assert "Aucune donnée pour le moment" in empty


def test_long_category_names_wrap_and_shorten():
    assert charts.wrap_label("Cégep de Lévis") == "Cégep de Lévis"
    long = (
        "Appel d'intérêt 2012-2013 — Centres d'expertise en reconnaissance des acquis et des "
        "compétences (CERAC)"
    )
    wrapped = charts.wrap_label(long)
    assert wrapped.count("\n") == 2 and wrapped.endswith("…")
    assert all(len(line) <= 28 for line in wrapped.split("\n"))


def test_an_all_zero_chart_keeps_its_value_axis_at_zero():
    chart = charts.Chart("zero", "Titre", "Tout à zéro.", ["Accepté", "Déposé"],
                         [charts.Series("Redditions", [0, 0])])  # fmt: skip
    texts = [t.text for t in ET.fromstring(charts.render(chart)).iter(f"{SVG}text")]
    assert not any(t and t.startswith("−") for t in texts)  # no negative tick


def test_french_number_helpers():
    assert charts.fr_number(1234567) == "1\xa0234\xa0567"
    assert charts.fr_money("250000.00") == "250\xa0000\xa0$"
    assert charts.fr_percent(66.7) == "66,7\xa0%"
    assert charts.month_label("2026-03") == "mars 2026"


# -- the dashboard --------------------------------------------------------------------------

STATUSES = [{"key": "draft", "label": "En préparation"}, {"key": "recevable", "label": "Recevable"}]
MONEY = dict.fromkeys(
    (
        "operating_allocated",
        "cap_remaining",
        "projects_approved",
        "projects_pending",
        "total_funded",
        "paid",
        "held",
        "remaining",
    ),
    "0.00",
)
FIGURES = {
    "applications": {
        "statuses": STATUSES,
        "applications_per_call": [{"call_id": 1, "call_title": f"=Appel {HOSTILE}",
                                   "counts": {"draft": 1, "recevable": 2}, "total": 3}],
        "total": 3,
        "reporting": {
            "as_of": "2014-10-12",
            "reports_by_status": [{"status": "submitted", "label": "Déposé, en analyse",
                                   "count": 1}],
            "reports_total": 1,
            "late_reports": [{"report_id": 1, "cerac_id": 1, "organisation_name": "Cégep de Lévis",
                              "kind": "yearly", "period_label": "2013-2014",
                              "special_mandate_id": None, "due_date": "2014-09-30",
                              "days_late": 12}],
            "late_count": 1,
            "late_submissions": 0,
            "support_requests": [{"cerac_id": 1, "organisation_name": "Cégep de Lévis",
                                  "education_order": "collégial", "received": 3, "answered": 2}],
            "support_totals": {"received": 3, "answered": 2},
        },
    },
    "scoring": {"ceracs_per_order": [{"education_order": "collégial", "label": "Ordre collégial",
                                      "count": 2}], "max_per_order": 3, "total": 2},
    "plans": {
        "total": 3, "by_status": [], "issued_ever": 3, "accepted_ever": 1, "lapsed": 1,
        "declined": 0, "acceptance_rate": 50.0, "institutions": 1,
        "per_month": [{"month": "2026-01", "issued": 3, "accepted": 1, "lapsed": 1}],
        "acceptance": {"accepted": 1, "lapsed": 1, "declined": 0, "rate": 50.0},
        "candidates_per_program": [{"program_code": "JEE.0K", "program_title": "Éducation",
                                    "candidates": 12, "abandoned": 1, "plans": 2}],
    },
    "billing": {
        "per_month": [{"month": "2026-01", "invoiced": "1234.50", "credited": "0.00",
                       "paid": "1000.00"}],
        "totals": {"invoiced": "1234.50", "credited": "0.00", "paid": "1000.00"},
        "outstanding": "234.50",
        "funding": {"fiscal_year": "2025-2026", "cap": "250000.00", "ceracs": [
            {**MONEY, "cerac_id": 1, "organisation_id": 2, "name": "Cégep de Lévis",
             "education_order": "collégial", "education_order_label": "Ordre collégial",
             "mandate_parts": [], "experimentation_years": [], "designated_on": None,
             "cap": "250000.00", "cap_used_percent": 80, "operating_allocated": "200000.00",
             "projects_approved": "60000.00", "paid": "100000.00", "held": "50000.00",
             "remaining": "160000.00"}],
            "totals": {**MONEY, "cap": "250000.00", "operating_allocated": "200000.00",
                       "projects_approved": "60000.00"}},
    },
}  # fmt: skip
ANALYST = Actor(
    user_id=2,
    role=Role.MINISTRY_ANALYST,
    organisation_id=1,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="François Côté",
)
EMPLOYER = Actor(
    user_id=13,
    role=Role.EMPLOYER_REPRESENTATIVE,
    organisation_id=5,
    organisation_kind=OrganisationKind.EMPLOYER,
    full_name="Julie Morin",
)
COORDINATOR = Actor(
    user_id=6,
    role=Role.RAC_COORDINATOR,
    organisation_id=2,
    organisation_kind=OrganisationKind.CEGEP,
    full_name="Sophie Bélanger",
)


class FakeRpc:
    """The gateway's RPC client: records calls; an answer may be an exception."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def call(self, service, method, **kwargs):
        self.calls.append((service, method, kwargs))
        answer = self.answers[service]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def parallel(self, calls):
        results = {}
        for key, fn in calls.items():
            try:
                results[key] = fn()
            except Exception as exc:
                results[key] = exc
        return results


def make_ctx(answers=None, path="/tableau-de-bord", actor=ANALYST):
    app = gateway_app(FakeRpc(FIGURES if answers is None else answers))
    # A known unread count: the page header needs no inbox (not the subject here).
    return Ctx(app=app, request=Request.from_values(path), actor=actor, session_key="clé",
               unread_messages=0)  # fmt: skip


def opened(handler, ctx, *args):
    """The handler as the framework calls it: its query string decoded first."""
    ctx.query = ctx.app._parse_query(ctx, dashboard.DashboardQuery)
    return handler(ctx, *args)


def test_only_the_ministry_may_open_the_dashboard_its_exports_and_api():
    specs = [s for s in REGISTRY if s.handler.__module__.startswith(dashboard.__name__)]
    assert {s.path for s in specs} == {"/tableau-de-bord", "/tableau-de-bord/<figure>.csv",
                                       "/api/dashboard"}  # fmt: skip
    for spec in specs:
        assert spec.allows(ANALYST)
        assert not spec.allows(EMPLOYER) and not spec.allows(COORDINATOR)
        assert not spec.allows(None)


def test_the_page_has_every_figure_with_its_chart_table_and_csv_link():
    ctx = make_ctx()
    html = opened(dashboard.dashboard_page, ctx).get_data(as_text=True)
    # One RPC per service, each the service's network figures.
    assert sorted(c[0] for c in ctx.app.rpc.calls) == sorted(dashboard.SERVICES)
    assert {c[1] for c in ctx.app.rpc.calls} == {"network_figures"}
    for slug in dashboard.FIGURES:
        assert f'id="figure-{slug}"' in html
        assert f'href="/tableau-de-bord/{slug}.csv"' in html
    assert html.count("<svg ") == len(dashboard.FIGURES)
    assert html.count("<table>") == len(dashboard.FIGURES)
    assert html.count('role="img"') == len(dashboard.FIGURES)
    caption = r"<caption id=\"[^\"]+\">Financement des CERAC par rapport au plafond annuel<"
    assert re.search(caption, html)
    assert "Données indisponibles" not in html
    assert "50,0\xa0%" in html  # the acceptance rate, with its definition
    assert "acceptées ÷ (acceptées + caduques + refusées)" in html
    assert "250\xa0000,00\xa0$" in html and "1\xa0234,50\xa0$" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_service_that_cannot_answer_leaves_its_sections_unavailable():
    from gateway.rpc_client import RpcTimeout

    answers = {**FIGURES, "billing": RpcTimeout("billing.network_figures")}
    response = opened(dashboard.dashboard_page, make_ctx(answers))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for slug in ("facturation", "financement"):
        section = html.split(f'id="figure-{slug}"')[1].split("</section>")[0]
        assert "Données indisponibles" in section and "<svg" not in section
    assert html.count('role="img"') == len(dashboard.FIGURES) - 2


def test_a_part_missing_from_a_service_is_unavailable_too():
    answers = {**FIGURES, "billing": {**FIGURES["billing"], "funding": None}}
    from rac_shared.contracts.applications import ApplicationsFigures
    from rac_shared.contracts.billing import BillingFigures

    typed = {
        "billing": BillingFigures.model_validate(answers["billing"]),
        "applications": ApplicationsFigures.model_validate(answers["applications"]),
    }
    sections = {s.slug: s for s in dashboard.build(typed)}
    assert not sections["financement"].available and sections["facturation"].available


def test_a_refusal_from_a_service_is_not_hidden():
    with pytest.raises(DomainError):
        opened(dashboard.dashboard_page, make_ctx({**FIGURES, "plans": forbidden()}))


def test_a_bad_fiscal_year_is_refused_in_french_before_any_call():
    ctx = make_ctx(path="/tableau-de-bord?exercice=2025-2027")
    with pytest.raises(HttpError) as refused:
        opened(dashboard.dashboard_page, ctx)
    assert refused.value.status == 422 and "2025-2026" in refused.value.message
    assert ctx.app.rpc.calls == []
    ctx = make_ctx(path="/tableau-de-bord?exercice=2024-2025")
    opened(dashboard.dashboard_page, ctx)
    billing = next(c for c in ctx.app.rpc.calls if c[0] == "billing")
    assert billing[2]["fiscal_year"] == "2024-2025"


def test_csv_exports_have_french_headers_decimal_commas_and_no_formula():
    ctx = make_ctx()
    response = opened(dashboard.dashboard_csv, ctx, "financement")
    assert [c[0] for c in ctx.app.rpc.calls] == ["billing"]  # only the service concerned
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv" and text.startswith("\ufeffCERAC;Plafond")
    assert "Cégep de Lévis;250000,00;200000,00;60000,00;100000,00;50000,00;160000,00" in text
    text = opened(dashboard.dashboard_csv, make_ctx(), "demandes").get_data(as_text=True)
    assert "\r\n'=Appel" in text  # a cell that would be a formula is quoted
    with pytest.raises(HttpError) as missing:
        opened(dashboard.dashboard_csv, make_ctx(), "inconnu")
    assert missing.value.status == 404
    with pytest.raises(HttpError) as unavailable:
        opened(dashboard.dashboard_csv, make_ctx({**FIGURES, "scoring": RuntimeError()}), "cerac")
    assert unavailable.value.status == 503


def test_the_json_api_gives_the_same_figures():
    body = json.loads(json_response(opened(dashboard.api_dashboard, make_ctx())).get_data())
    assert set(body["figures"]) == set(dashboard.FIGURES)
    plans = body["figures"]["plans"]
    assert plans["available"] and plans["rows"] == [["janv. 2026", 3, 1, 1]]
    assert plans["summary"]["acceptance"]["rate"] == 50.0
    funding = body["figures"]["financement"]
    assert funding["rows"][0][2] == "200000.00"  # Decimal as a string
    dashboard.DashboardOut.model_validate(body)

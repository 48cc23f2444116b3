"""The life of a designated CERAC over the real platform (RabbitMQ, PostgreSQL, every service
in its own process): designation (``cerac.designated``, published as scoring's relay does)
→ the CERAC appears in the network list → the ministry records its operating allocation
(the first disbursement held until the previous year's report is accepted) → a development
project is submitted and approved → the CERAC submits its yearly report → the analyst asks
for changes → the CERAC resubmits → the analyst accepts → the held disbursement is released
(billing heard ``cerac.report_accepted``) and paid; the people concerned are told by e-mail;
the dashboard counts it all.

And the refusals, each leaving nothing changed: an allocation over the 250 000 $ cap, a
CERAC editing another CERAC's report, an employer opening the dashboard.
"""

from __future__ import annotations

from datetime import date

import pytest
import requests

from rac_shared.clock import clock
from rac_shared.events import CeracDesignated
from tests.support.polling import wait_until
from tests.support.typography import ordinary_spaces

pytestmark = pytest.mark.integration

LEVIS_RAC = "rac@cegeplevis.demo.quebec"
LEVIS_DG = "dg@cegeplevis.demo.quebec"
CMV = "fc@cmv.demo.quebec"
ADMIN = "admin@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"
LEVIS_CERAC, CMV_CERAC = 9101, 9102


def fiscal_year_of(day: date) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}-{start + 1}"


TODAY = clock.today()
YEAR = fiscal_year_of(TODAY)  # the current fiscal year: the allocation's
PREVIOUS = fiscal_year_of(date(TODAY.year - 1, TODAY.month, 1))  # the report that holds it


class Api:
    def __init__(self, platform):
        self.platform = platform
        self.tokens: dict[str, str] = {}

    def __call__(self, method: str, path: str, who: str, expect: int | None = 200, **kwargs):
        if who not in self.tokens:
            self.tokens[who] = self.platform.token(who)
        response = self.platform.api(method, path, self.tokens[who], **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response


@pytest.fixture(scope="module")
def life(platform):
    """Two CERACs designated (Lévis, whose life the tests follow, and CMV), as scoring's
    relay publishes the decision; designated two fiscal years ago so that the current
    year's first disbursement waits for the previous year's report."""
    api = Api(platform)
    organisations = {who: api("GET", "/api/me", who).json()["organisation"]["id"]
                     for who in (LEVIS_RAC, CMV)}  # fmt: skip
    for cerac_id, who, name in ((LEVIS_CERAC, LEVIS_RAC, "Cégep de Lévis"),
                                (CMV_CERAC, CMV, "Cégep Marie-Victorin")):  # fmt: skip
        platform.publish_event(
            CeracDesignated(
                cerac_id=cerac_id, evaluation_id=cerac_id, application_id=cerac_id, call_id=1,
                call_title="Appel d'intérêt — CERAC", organisation_id=organisations[who],
                organisation_name=name, reference=f"CERAC-TEST-{cerac_id}",
                education_order="collégial", mandate_parts=["offer", "quality", "development"],
                experimentation_years=[PREVIOUS, YEAR],
                decision_date=date(int(PREVIOUS[:4]), 5, 31), total="80.00",
                below_threshold=False, decided_by_user_id=1,
            )
        )  # fmt: skip
    return api


def network_names(api, who=CMV) -> set[str]:
    listed = api("GET", "/api/network/ceracs", who).json()["ceracs"]["items"]
    return {c["organisation_name"] for c in listed}


def funding(api) -> dict:
    return api("GET", f"/api/funding/ceracs/{LEVIS_CERAC}/statement", ADMIN).json()


def reports_of(api, who) -> list[dict]:
    return api("GET", "/api/reporting/reports", who).json()["items"]


def previous_report(api) -> dict:
    return next(r for r in reports_of(api, LEVIS_RAC)
                if r["cerac_id"] == LEVIS_CERAC and r["period_label"] == PREVIOUS)  # fmt: skip


SECTION = {
    "objectives": "Soutenir trois établissements dans la mise en place de leur service.",
    "narrative": "Trois établissements accompagnés; deux services ouverts.",
    "indicators": [{"label": "Établissements accompagnés", "unit": "établissements",
                    "target": "3", "achieved": "3"}],
}  # fmt: skip


def test_designation_allocation_project_report_and_the_held_disbursement(life, platform):
    api = life
    # -- designation → the network list (every logged-in institution sees it) --------------
    wait_until(lambda: "Cégep de Lévis" in network_names(api), message="not in the network")
    wait_until(lambda: any(r["cerac_id"] == LEVIS_CERAC for r in reports_of(api, LEVIS_RAC)),
               message="yearly reports not opened")  # fmt: skip

    # -- the operating allocation: the first disbursement waits for last year's report ----
    allocation = api("POST", f"/api/funding/ceracs/{LEVIS_CERAC}/allocations", ADMIN,
                     expect=201, json={"fiscal_year": YEAR, "amount": "200000.00",
                                       "installments": 2}).json()  # fmt: skip
    held = [d for d in allocation["disbursements"] if d["held"]]
    assert len(held) == 1 and held[0]["hold_report_year"] == PREVIOUS
    refused = api("POST", f"/api/funding/disbursements/{held[0]['id']}/payment", ADMIN,
                  expect=422, json={"paid_on": TODAY.isoformat()})  # fmt: skip
    assert "retenu" in refused.json()["error"]["message"]

    # -- a development project, outside the cap, approved --------------------------------
    project = api("POST", "/api/funding/projects", LEVIS_RAC, expect=201, json={
        "title": "Instrumentation de la RAC à distance", "mandate_part": "development",
        "objectives": "Outiller les conseillers pour les entrevues à distance.",
        "budget_lines": [{"label": "Conception des outils", "amount": "70000.00"}],
        "period_start": TODAY.isoformat(), "period_end": TODAY.isoformat(),
    }).json()  # fmt: skip
    decided = api("POST", f"/api/funding/projects/{project['id']}/decision", ADMIN,
                  json={"decision": "approved"}).json()  # fmt: skip
    assert decided["status"] == "approved"
    statement = funding(api)
    assert statement["operating_allocated"] == "200000.00"
    assert statement["projects_approved"] == "70000.00"  # on top of the operating cap

    # -- the yearly report: submitted, sent back with comments, resubmitted, accepted ----
    report = previous_report(api)
    # The "offer" part counts support requests itself: the CERAC sets their targets.
    offer = {**SECTION, "indicators": SECTION["indicators"] + [
        {"source": "support_received", "target": "5"},
        {"source": "support_answered", "target": "5"},
    ]}  # fmt: skip
    api(
        "PUT",
        f"/api/reporting/reports/{report['id']}",
        LEVIS_RAC,
        json={"sections": {"offer": offer, "quality": SECTION, "development": SECTION}},
    )
    api("POST", f"/api/reporting/reports/{report['id']}/submit", LEVIS_RAC)
    analyst_mail = wait_until(lambda: [m for m in platform.mails_to(ANALYST)
                                       if "Reddition de comptes déposée" in m["Subject"]],
                              message="no mail to the analyst")  # fmt: skip
    assert "Cégep de Lévis" in analyst_mail[0]["Subject"]
    api("POST", f"/api/reporting/reports/{report['id']}/review", ANALYST, json={
        "decision": "changes_requested",
        "comments": {"offer": "Précisez les établissements accompagnés."},
    })  # fmt: skip
    sent_back = wait_until(lambda: [m for m in platform.mails_to(LEVIS_RAC)
                                    if "Modifications demandées" in m["Subject"]],
                           message="no changes-requested mail")  # fmt: skip
    body = ordinary_spaces(sent_back[0].get_body(preferencelist=("plain",)).get_content())
    assert "Volet 1 — Accroître l'offre de service en RAC : Précisez" in body
    assert previous_report(api)["status"] == "changes_requested"
    api("POST", f"/api/reporting/reports/{report['id']}/submit", LEVIS_RAC)
    api(
        "POST",
        f"/api/reporting/reports/{report['id']}/review",
        ANALYST,
        json={"decision": "accepted"},
    )
    assert previous_report(api)["status"] == "accepted"

    # -- billing heard the acceptance: the held disbursement is released, then paid ------
    def released():
        rows = [d for d in funding(api)["schedule"] if d["id"] == held[0]["id"]]
        return rows and not rows[0]["held"] and rows[0]["released_on"]

    wait_until(released, message="the held disbursement was not released")
    wait_until(lambda: [m for m in platform.mails_to(LEVIS_RAC)
                        if m["Subject"].startswith("Versement libéré")],
               message="no release mail")  # fmt: skip
    paid = api("POST", f"/api/funding/disbursements/{held[0]['id']}/payment", ADMIN,
               json={"paid_on": TODAY.isoformat()}).json()  # fmt: skip
    assert paid["status"] == "paid"

    # -- the ministry's dashboard counts it -------------------------------------------------
    figures = api("GET", "/api/dashboard", ANALYST).json()["figures"]
    assert all(f["available"] for f in figures.values()), figures
    funded = {row[0]: row for row in figures["financement"]["rows"]}
    assert funded["Cégep de Lévis"][2:5] == ["200000.00", "70000.00", "100000.00"]
    late = [(row[0], row[1]) for row in figures["redditions"]["rows"]]
    assert ("Cégep de Lévis", PREVIOUS) not in late  # accepted: not late any more


def test_an_allocation_over_the_cap_is_refused_and_nothing_changes(life):
    api = life
    wait_until(lambda: "Cégep Marie-Victorin" in network_names(api, LEVIS_RAC))
    path = f"/api/funding/ceracs/{CMV_CERAC}/allocations"
    api("POST", path, ADMIN, expect=201, json={"fiscal_year": YEAR, "amount": "150000.00"})
    before = api("GET", f"/api/funding/ceracs/{CMV_CERAC}/statement", ADMIN).json()
    refused = api("POST", path, ADMIN, expect=422,
                  json={"fiscal_year": YEAR, "amount": "100000.01"}).json()  # fmt: skip
    assert refused["error"]["code"] == "invalid"
    assert "250 000" in refused["error"]["message"].replace("\u00a0", " ")
    after = api("GET", f"/api/funding/ceracs/{CMV_CERAC}/statement", ADMIN).json()
    assert after == before and after["operating_allocated"] == "150000.00"
    # Up to the cap is fine: 150 000 + 100 000 = 250 000 $.
    api("POST", path, ADMIN, expect=201, json={"fiscal_year": YEAR, "amount": "100000.00"})


def test_a_cerac_cannot_edit_another_cerac_report_and_nothing_changes(life):
    api = life
    wait_until(lambda: any(r["cerac_id"] == CMV_CERAC for r in reports_of(api, CMV)))
    report = next(r for r in reports_of(api, CMV) if r["cerac_id"] == CMV_CERAC)
    assert all(r["cerac_id"] != CMV_CERAC for r in reports_of(api, LEVIS_RAC))  # not listed
    before = api("GET", f"/api/reporting/reports/{report['id']}", CMV).json()
    intrusion = api("PUT", f"/api/reporting/reports/{report['id']}", LEVIS_RAC, expect=None,
                    json={"sections": {"offer": {**SECTION, "narrative": "Réécrit"}}})  # fmt: skip
    assert intrusion.status_code in (403, 404), intrusion.text
    assert intrusion.json()["error"]["message"]  # a French message, no trace
    submit = api("POST", f"/api/reporting/reports/{report['id']}/submit", LEVIS_RAC, expect=None)
    assert submit.status_code in (403, 404)
    after = api("GET", f"/api/reporting/reports/{report['id']}", CMV).json()
    assert after == before


def test_an_employer_cannot_open_the_dashboard(life, platform):
    api = life
    refused = api("GET", "/api/dashboard", EMPLOYER, expect=403).json()
    assert refused["error"]["code"] == "forbidden"
    assert api("GET", "/api/dashboard", LEVIS_RAC, expect=None).status_code == 403
    cookie = platform.session_cookie(EMPLOYER)
    page = requests.get(f"{platform.url}/tableau-de-bord", cookies={"rac_session": cookie},
                        timeout=30, allow_redirects=False)  # fmt: skip
    assert page.status_code == 403 and "Accès refusé" in page.text
    csv = requests.get(f"{platform.url}/tableau-de-bord/financement.csv",
                       cookies={"rac_session": cookie}, timeout=30)  # fmt: skip
    assert csv.status_code == 403 and "CERAC" not in csv.text

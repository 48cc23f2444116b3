"""Calendars over the whole platform (real RabbitMQ and PostgreSQL, the demo's data): the
personal page and its download, the feed a calendar application fetches without a session
(replaced, then revoked), a plan's and a candidate-worker's calendar for its parties only,
a call's deadline, and a CERAC's reports due."""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest
import requests
from icalendar import Calendar

from rac_shared.clock import MONTREAL

pytestmark = pytest.mark.integration

COORDINATOR = "rac@cegeplevis.demo.quebec"
EMPLOYER = "rh@cisss.demo.quebec"
OTHER_INSTITUTION = "dg@cmv.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
ICS = "text/calendar; charset=utf-8"


class Pages:
    """A signed-in person's browser: pages, CSRF-protected forms, downloads."""

    def __init__(self, platform, email: str):
        self.platform = platform
        self.browser = requests.Session()
        self.browser.cookies.set("rac_session", platform.session_cookie(email))

    def get(self, path: str, status: int = 200) -> requests.Response:
        response = self.browser.get(f"{self.platform.url}{path}", timeout=60)
        assert response.status_code == status, response.text[:2000]
        return response

    def post(self, page: str, action: str) -> requests.Response:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', self.get(page).text).group(1)
        response = self.browser.post(
            f"{self.platform.url}{action}",
            data={"csrf_token": csrf},
            allow_redirects=False,
            timeout=60,
        )
        assert response.status_code == 303, response.text[:2000]
        return response


def feed_address(page: str) -> str | None:
    found = re.search(r'id="adresse-flux" type="text" readonly value="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def events_of(content: bytes) -> dict[str, object]:
    calendar = Calendar.from_ical(content)
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] in ([], ["America/Montreal"])
    return {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}


def anonymous(url: str) -> requests.Response:
    return requests.get(url, timeout=60)


def test_the_personal_calendar_its_download_and_its_feed_replaced_then_revoked(platform):
    coordinator = Pages(platform, COORDINATOR)
    page = coordinator.get("/calendrier")
    text = html.unescape(page.text)
    assert "Échéances à venir" in text
    assert "Date limite d'acceptation du plan de mise en œuvre PMO-CLV-" in text
    assert "Évaluation de " in text
    assert "Données indisponibles" not in text
    # One RPC per service that keeps dates (and none to the others).
    calls = dict(c.split("=") for c in page.headers["X-RAC-RPC"].split(", "))
    assert {k: int(v) for k, v in calls.items() if k != "notifications"} == {
        "applications": 1,
        "plans": 1,
        "billing": 1,
    }

    download = coordinator.get("/calendrier.ics")
    assert download.headers["Content-Type"] == ICS
    assert "calendrier-rac.ics" in download.headers["Content-Disposition"]
    events = events_of(download.content)
    deadlines = [e for title, e in events.items() if title.startswith("Date limite d'acc")]
    assert deadlines
    for deadline in deadlines:
        moment = deadline.decoded("DTSTART")
        assert deadline["DTSTART"].params["TZID"] == "America/Montreal"
        assert (moment.hour, moment.minute) == (23, 59)
    assert any(title.startswith("Versement ") for title in events)  # the accepted plan's
    assert any(title.startswith("Évaluation de ") for title in events)

    # The demo opened the coordinator's feed: a calendar application fetches it, no session.
    first = feed_address(page.text)
    assert first and first.startswith(f"{platform.url}/calendrier/flux/")
    fetched = anonymous(first)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == ICS
    assert set(events_of(fetched.content)) == set(events)

    # A new address: the old one stops working at once.
    replaced = coordinator.post("/calendrier", "/calendrier/abonnement")
    assert replaced.headers["Location"] == "/calendrier?fait=flux-calendrier#abonnement"
    second = feed_address(coordinator.get("/calendrier").text)
    assert second and second != first
    assert anonymous(first).status_code == 404
    assert anonymous(second).status_code == 200

    # Revoked: no address left, and the last one answers 404 like a forged one.
    # Revoking is confirmed on a separate step that says what will happen; its way back
    # changes nothing.
    step = html.unescape(coordinator.get("/calendrier/abonnement/revoquer").text)
    assert "cessera aussitôt de fonctionner" in step and 'class="danger"' in step
    assert 'href="/calendrier#abonnement">Revenir sans rien changer' in step
    assert anonymous(second).status_code == 200
    coordinator.post("/calendrier/abonnement/revoquer", "/calendrier/abonnement/revoquer")
    page = coordinator.get("/calendrier").text
    assert feed_address(page) is None
    assert "Vous n'avez pas d'adresse d'abonnement active." in html.unescape(page)
    gone = anonymous(second)
    assert gone.status_code == 404
    assert "révoquée" in html.unescape(gone.text)
    assert anonymous(f"{platform.url}/calendrier/flux/k1.1.1.forged.ics").status_code == 404
    # The token never reaches the logs.
    token = second.rsplit("/", 1)[1]
    assert token not in platform.tail_logs(2000)


def test_a_plan_s_calendar_is_its_parties_and_one_candidate_worker_s_is_theirs(platform):
    token = platform.token(EMPLOYER)
    rows = platform.api("GET", "/api/plans", token).json()["items"]
    issued = next(r for r in rows if r["awaiting_acceptance"] and r["accepted_version"] is None)
    plan = platform.api("GET", f"/api/plans/{issued['id']}", token).json()
    candidate = plan["computed"]["calendars"][0]

    employer = Pages(platform, EMPLOYER)
    page = html.unescape(employer.get(f"/plans/{issued['id']}").text)
    assert f"/plans/{issued['id']}/calendrier.ics" in page
    whole = events_of(employer.get(f"/plans/{issued['id']}/calendrier.ics").content)
    deadline = whole[
        f"Date limite d'acceptation du plan de mise en œuvre {issued['reference']} (version "
        f"{issued['awaiting_version']})"
    ]
    expected = datetime.fromisoformat(issued["acceptance_deadline"]).astimezone(MONTREAL)
    assert deadline.decoded("DTSTART") == expected.replace(second=0, microsecond=0)
    periods = {t: e for t, e in whole.items() if t.startswith("Évaluation de ")}
    assert len(periods) == sum(len(c["periods"]) for c in plan["computed"]["calendars"])

    one = employer.get(f"/plans/{issued['id']}/calendrier.ics?candidat={candidate['candidate_id']}")
    assert f"calendrier-plan-{issued['id']}-personne-" in one.headers["Content-Disposition"]
    mine = events_of(one.content)
    assert set(mine) == {t for t in periods if candidate["full_name"] in t}
    first_period = mine[
        f"Évaluation de {candidate['full_name']} — " + candidate["periods"][0]["label"]
    ]
    assert str(first_period.decoded("DTSTART")) == candidate["periods"][0]["start"]

    # Another institution, or a candidate-worker of no plan of theirs: not found.
    Pages(platform, OTHER_INSTITUTION).get(f"/plans/{issued['id']}/calendrier.ics", status=404)
    employer.get(f"/plans/{issued['id']}/calendrier.ics?candidat=987654", status=404)
    employer.get(f"/plans/{issued['id']}/calendrier.ics?candidat=zéro", status=422)


def test_a_call_s_deposit_deadline_and_a_cerac_s_reports_due(platform):
    institution = Pages(platform, OTHER_INSTITUTION)
    call = platform.api("GET", "/api/calls", platform.token(OTHER_INSTITUTION)).json()["items"][0]
    [deadline] = events_of(institution.get(f"/appels/{call['id']}/calendrier.ics").content).values()
    assert str(deadline["SUMMARY"]) == f"Date limite de dépôt des demandes : {call['title']}"
    moment = deadline.decoded("DTSTART")
    assert (moment.date().isoformat(), moment.hour, moment.minute) == (
        call["deadline_date"],
        23,
        59,
    )
    assert deadline["DTSTART"].params["TZID"] == "America/Montreal"

    # The analysts see every report still to submit (the demo's late 2014-2015 report), not
    # the one deposited and awaiting their review.
    reports = events_of(Pages(platform, ANALYST).get("/calendrier.ics").content)
    due = {t: e for t, e in reports.items() if t.startswith("Rapport ")}
    assert due and all(t.endswith("à déposer") for t in due)
    assert any(t.startswith("Rapport annuel 2014-2015 ") for t in due)
    assert len([t for t in due if t.startswith("Rapport annuel 2014-2015 ")]) == 1
    assert {e.decoded("DTSTART").isoformat() for e in due.values()} == {"2015-09-30"}
    # An employer has no calls nor reports; its calendar still downloads.
    employer = events_of(Pages(platform, EMPLOYER).get("/calendrier.ics").content)
    assert not any(t.startswith(("Rapport ", "Date limite de dépôt")) for t in employer)

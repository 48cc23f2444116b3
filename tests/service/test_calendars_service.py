"""Calendars from the services that keep the dates, in real nameko containers over
RabbitMQ (plans, billing, the gateway's directory): a plan's candidate-worker periods and
acceptance deadline for the parties only, one candidate-worker's calendar, the deadline as
the iCalendar file the ``plan.issued`` e-mail attaches, and billing's installments due once
the acceptance reached billing over the bus."""

from __future__ import annotations

import base64
from datetime import date, datetime, time

import pytest
from icalendar import Calendar
from nameko.standalone.rpc import ServiceRpcProxy

from rac_shared.clock import MONTREAL, clock
from rac_shared.errors import DomainError
from tests.service.helpers import wait_until
from tests.service.test_plans_service import (  # noqa: F401  (fixtures)
    ESTIMATE,
    accept_first_offer,
    build_plan,
    local,
    plans,
    platform,
)

EMPLOYER = "rh@cisss.demo.quebec"


@pytest.fixture
def billing(platform, rabbit_config):  # noqa: F811
    with ServiceRpcProxy("billing", rabbit_config) as proxy:
        yield proxy


def test_a_plan_s_dates_reach_its_parties_calendars_and_the_issue_e_mail(
    plans,  # noqa: F811
    billing,
    platform,  # noqa: F811
):
    coordinator, plan_id = build_plan(plans, platform)
    employer = platform["people"][EMPLOYER]
    analyst = platform["people"]["analyste@mes.demo.quebec"]

    # A draft: the institution downloads its calendars; it is in nobody's running calendar.
    draft = plans.calendar(actor=coordinator, query={"plan_id": plan_id})
    assert {e["title"] for e in draft} >= {
        "Évaluation de Marie-Ève Gagnon — REG A (018N, 018P)",
        "Évaluation de Karine Lapointe — Compétence 018S : Concevoir des activités de "
        "développement global",
    }
    assert not any(e["at"] for e in draft)  # no deadline before the offer
    assert plans.calendar(actor=coordinator, query={}) == []
    with pytest.raises(DomainError) as error:
        plans.calendar(actor=employer, query={"plan_id": plan_id})
    assert error.value.code == "not_found"  # the employer never sees a draft
    with pytest.raises(DomainError) as error:
        plans.calendar(actor=analyst, query={"plan_id": plan_id})
    assert error.value.code == "forbidden"
    assert plans.calendar(actor=analyst, query={}) == []

    plans.save_estimate(actor=coordinator, plan_id=plan_id, estimate=ESTIMATE)
    with clock.frozen_at(local(2026, 9, 1, 10, 0)):
        row = plans.issue(actor=coordinator, plan_id=plan_id)

    for actor in (coordinator, employer):
        events = plans.calendar(actor=actor, query={})
        [deadline] = [e for e in events if e["at"]]
        assert deadline["uid"] == f"plan-{plan_id}-v1-acceptation@plans.rac.quebec"
        assert deadline["title"] == (
            f"Date limite d'acceptation du plan de mise en œuvre {row['reference']} (version 1)"
        )
        moment = datetime.fromisoformat(deadline["at"]).astimezone(MONTREAL)
        assert (moment.date(), moment.time().replace(microsecond=0)) == (
            date(2026, 10, 1),
            time(23, 59, 59),
        )
        assert "du CISSS de Chaudière-Appalaches" in deadline["description"]
        periods = [e for e in events if not e["at"]]
        assert len(periods) == 4  # two units for each of the two candidate-workers
    # The periods skip Thanksgiving (12 October 2026) and say so.
    gagnon = [e for e in periods if "Marie-Ève Gagnon" in e["title"]]
    assert gagnon[0]["start"] == "2026-10-05"
    assert "12 octobre 2026 (Action de grâce)" in gagnon[0]["description"]

    # One candidate-worker's calendar; another plan's or an unknown person is not found.
    candidate_id = int(gagnon[0]["uid"].split("-candidat-")[1].split("-")[0])
    mine = plans.calendar(actor=employer, query={"plan_id": plan_id, "candidate_id": candidate_id})
    assert [e["uid"] for e in mine] == [e["uid"] for e in gagnon]
    with pytest.raises(DomainError) as error:
        plans.calendar(actor=employer, query={"plan_id": plan_id, "candidate_id": 99999})
    assert error.value.code == "not_found"
    with pytest.raises(DomainError) as error:
        plans.calendar(actor=coordinator, query={"plan_id": plan_id, "candidate_id": 0})
    assert error.value.code == "invalid"

    # The file the plan.issued e-mail attaches beside the PDF.
    delivered = plans.acceptance_calendar_for_delivery(plan_id=plan_id, version=1)
    assert delivered["filename"] == f"{row['reference']}-v1-echeance.ics"
    assert delivered["mime"] == "text/calendar"
    calendar = Calendar.from_ical(base64.b64decode(delivered["content_base64"]))
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == datetime(2026, 10, 1, 23, 59, tzinfo=MONTREAL)
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["America/Montreal"]
    with pytest.raises(DomainError) as error:
        plans.acceptance_calendar_for_delivery(plan_id=plan_id, version=2)
    assert error.value.code == "not_found"

    # Accepted: no deadline left; billing learns it over the bus and dates the installment.
    with clock.frozen_at(local(2026, 9, 15, 10, 0)):
        accept_first_offer(plans, employer, plan_id)
    running = plans.calendar(actor=employer, query={})
    assert not any(e["at"] for e in running)
    # The accepted version's periods are kept once computed; a candidate-worker who abandons
    # leaves the calendar all the same.
    assert [e["uid"] for e in running] == [e["uid"] for e in periods]
    with clock.frozen_at(local(2026, 9, 20, 10, 0)):
        plans.abandon_candidate(actor=coordinator, plan_id=plan_id, candidate_id=candidate_id,
                                data={"abandoned_on": "2026-09-20"})  # fmt: skip
    left = plans.calendar(actor=coordinator, query={})
    assert [e["uid"] for e in left] == [e["uid"] for e in periods if e not in gagnon]
    due = wait_until(
        lambda: billing.calendar(actor=employer, query={}),
        timeout=30,
        message="billing never dated the installment",
    )
    [installment] = due
    assert installment["start"] == "2026-09-15"
    assert installment["title"].startswith(f"Versement 1 de 1, plan {row['reference']} : ")
    assert installment["title"].endswith("\xa0$ (à facturer)")
    assert billing.calendar(actor=coordinator, query={"plan_id": plan_id}) == due
    assert billing.calendar(actor=coordinator, query={"plan_id": plan_id + 1}) == []
    assert billing.calendar(actor=analyst, query={}) == []

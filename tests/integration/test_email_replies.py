"""E-mails people can answer and filter, over the real platform (RabbitMQ, PostgreSQL, the
SMTP catcher): every e-mail says it was generated (Auto-Submitted) and answers to the person
who handles the matter (Reply-To); an optional reminder carries a one-click unsubscribe link
(RFC 8058) that, POSTed without any session, turns the reminders off, after which the next
optional reminder reaches the inbox but not the mailbox, while legal notices still go out."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import requests
from sqlalchemy import text

from rac_shared import events as ev
from rac_shared.clock import end_of_day
from tests.support.polling import wait_until

pytestmark = pytest.mark.integration

EMPLOYER = "direction@boulangerie.demo.quebec"
COORDINATOR = "rac@cegeplevis.demo.quebec"


@pytest.fixture(scope="module")
def ids(platform) -> dict[str, int]:
    token = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", token).json()["organisations"]
    return {o["code"]: o["id"] for o in organisations}


def me(platform, email: str) -> dict:
    return platform.api("GET", "/api/me", platform.token(email)).json()


def mail_about(platform, address: str, reference: str, words: str = ""):
    found = wait_until(
        lambda: [
            m
            for m in platform.mails_to(address)
            if reference in m["Subject"] and words in m["Subject"]
        ],
        message=f"no e-mail to {address} about {reference}\n{platform.tail_logs()}",
    )
    assert len(found) == 1
    return found[0]


def reply_to(mail) -> list[tuple[str, str]]:
    header = mail["Reply-To"]
    return [(a.display_name, a.addr_spec) for a in header.addresses] if header else []


def reminder(ids, reference: str, days_left: int) -> ev.PlanReminderDue:
    return ev.PlanReminderDue(
        plan_id=int(reference[-3:]),
        version=1,
        reference=reference,
        institution_id=ids["CLV"],
        employer_id=ids["BSM"],
        days_left=days_left,
        acceptance_deadline=end_of_day(date(2026, 12, 12)),
    )


def test_a_reminder_answers_to_the_other_party_and_unsubscribes_in_one_click(platform, ids):
    employer, coordinator = me(platform, EMPLOYER), me(platform, COORDINATOR)
    platform.publish_event(reminder(ids, "PMO-CLV-2026-071", 10))

    to_employer = mail_about(platform, EMPLOYER, "PMO-CLV-2026-071")
    to_coordinator = mail_about(platform, COORDINATOR, "PMO-CLV-2026-071")
    for mail in (to_employer, to_coordinator):
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["From"].addresses[0].addr_spec == "ne-pas-repondre@rac.quebec"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert reply_to(to_employer) == [(coordinator["full_name"], COORDINATOR)]
    assert reply_to(to_coordinator) == [(employer["full_name"], EMPLOYER)]

    link = re.fullmatch(r"<(.+)>", to_employer["List-Unsubscribe"].strip()).group(1)
    assert link.startswith(f"{platform.url}/desabonnement/")
    assert link != re.fullmatch(r"<(.+)>", to_coordinator["List-Unsubscribe"].strip()).group(1)

    # A link scanner or a reader without one-click support opens it: nothing changes yet.
    page = requests.get(link, timeout=30)
    assert page.status_code == 200
    assert "Ne plus recevoir les rappels facultatifs" in page.text
    token = platform.token(EMPLOYER)
    assert platform.api("GET", "/api/messages/preferences", token).json() == {
        "optional_reminders": True
    }

    # The mail client's one-click POST: no cookie, no CSRF token, the body of RFC 8058.
    posted = requests.post(
        link, data={"List-Unsubscribe": "One-Click"}, allow_redirects=False, timeout=30
    )
    assert posted.status_code == 200, posted.text
    assert "vous ne recevrez plus les rappels facultatifs" in posted.text
    assert platform.api("GET", "/api/messages/preferences", token).json() == {
        "optional_reminders": False
    }
    again = requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert again.status_code == 200  # idempotent
    # The coordinator, who did not click, still receives optional reminders.
    assert platform.api("GET", "/api/messages/preferences", platform.token(COORDINATOR)).json() == {
        "optional_reminders": True
    }

    # The next optional reminder: in the employer's inbox, not in their mailbox.
    second = platform.publish_event(reminder(ids, "PMO-CLV-2026-071", 3))
    mail_about(platform, COORDINATOR, "PMO-CLV-2026-071", "3 jours")
    with platform.engine("notifications").connect() as connection:
        channels = connection.execute(
            text("SELECT channel FROM notifications WHERE event_id = :e AND recipient = :r"),
            {"e": str(second.event_id), "r": EMPLOYER},
        ).scalars()
        assert sorted(channels) == ["inapp"]
    assert [m for m in platform.mails_to(EMPLOYER) if "3 jours" in m["Subject"]] == []
    inbox = platform.api("GET", "/api/messages", token).json()["messages"]
    assert [m for m in inbox if "3 jours" in m["subject"] and "PMO-CLV-2026-071" in m["subject"]]

    # A legal notice still reaches the mailbox, without an unsubscribe link.
    platform.publish_event(
        ev.PlanLapsed(
            plan_id=71,
            version=1,
            reference="PMO-CLV-2026-071",
            institution_id=ids["CLV"],
            employer_id=ids["BSM"],
            issued_on=date(2026, 11, 12),
            lapsed_on=date(2026, 12, 13),
        )
    )
    lapsed = mail_about(platform, EMPLOYER, "PMO-CLV-2026-071", "résolu de plein droit")
    assert lapsed["List-Unsubscribe"] is None and lapsed["List-Unsubscribe-Post"] is None
    assert lapsed["Auto-Submitted"] == "auto-generated"
    assert reply_to(lapsed) == [(coordinator["full_name"], COORDINATOR)]

    # The audit log keeps the unsubscribe request, never its token.
    with platform.engine("gateway").connect() as connection:
        paths = connection.execute(
            text("SELECT path FROM audit_log WHERE action = 'unsubscribe'")
        ).scalars()
        assert set(paths) == {"/desabonnement/[masqué]"}


def test_a_forged_or_altered_link_changes_nothing(platform, ids):
    coordinator = platform.token(COORDINATOR)
    platform.publish_event(reminder(ids, "PMO-CLV-2026-072", 10))
    mail = mail_about(platform, COORDINATOR, "PMO-CLV-2026-072")
    link = re.fullmatch(r"<(.+)>", mail["List-Unsubscribe"].strip()).group(1)
    kid, user_id, list_name, mac = link.rsplit("/", 1)[1].split(".")
    for forged in (
        f"{kid}.{int(user_id) + 1}.{list_name}.{mac}",  # someone else
        f"{kid}.{user_id}.{list_name}.{mac[:-2]}xx",
        "jeton-invente",
    ):
        response = requests.post(
            f"{platform.url}/desabonnement/{forged}",
            data={"List-Unsubscribe": "One-Click"},
            timeout=30,
        )
        assert response.status_code == 404
        assert "Ce lien de désabonnement n&#39;est pas valide" in response.text
        assert "Traceback" not in response.text
    assert platform.api("GET", "/api/messages/preferences", coordinator).json() == {
        "optional_reminders": True
    }


def test_a_ministry_decision_answers_to_the_analyst_who_made_it(platform, ids):
    analyst = me(platform, "analyste@mes.demo.quebec")
    platform.publish_event(
        ev.ApplicationAdmissibilityDecided(
            application_id=91,
            call_id=1,
            organisation_id=ids["CLV"],
            organisation_name="Cégep de Lévis",
            reference="CERAC-2012-0091",
            admissible=True,
            decision="recevable",
            rules=[],
            comment="",
            decided_by_user_id=analyst["id"],
            decided_at=datetime(2013, 2, 1, 15, tzinfo=UTC),
        )
    )
    mail = mail_about(platform, "dg@cegeplevis.demo.quebec", "CERAC-2012-0091")
    assert reply_to(mail) == [(analyst["full_name"], "analyste@mes.demo.quebec")]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None  # a decision cannot be unsubscribed from

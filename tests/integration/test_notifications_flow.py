"""Events of every service become French e-mails and in-app messages, exactly once, over the
real platform: recipients come from the gateway's directory by RPC, preferences apply to
optional reminders only, and hostile organisation names are escaped."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from rac_shared import events as ev
from rac_shared.clock import end_of_day
from tests.support.platform import Platform
from tests.support.polling import wait_until
from tests.support.typography import ordinary_spaces


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    """The whole platform; handlers retry long enough (about 50 s of backoff) to outlast a
    directory restart on a loaded machine before an event is dead-lettered."""
    with Platform(
        tmp_path_factory.mktemp("platform"),
        extra_env={"HANDLER_MAX_ATTEMPTS": "8"},
        separate_services=True,
    ).running() as running:
        yield running


def organisation_ids(platform) -> dict[str, int]:
    token = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", token).json()["organisations"]
    return {o["code"]: o["id"] for o in organisations}


def mails_about(platform, address: str, reference: str) -> list:
    return [m for m in platform.mails_to(address) if reference in m["Subject"]]


def test_lapsed_plan_notifies_both_parties_once_even_when_delivered_twice(platform):
    ids = organisation_ids(platform)
    payload = ev.PlanLapsed(
        plan_id=41,
        version=1,
        reference="PMO-CLV-2026-041",
        institution_id=ids["CLV"],
        employer_id=ids["CCA"],
        issued_on=date(2026, 10, 1),
        lapsed_on=date(2026, 11, 1),
    )
    envelope = platform.publish_event(payload)
    platform.publish_event(payload, envelope)  # redelivered

    reference = "PMO-CLV-2026-041"
    wait_until(
        lambda: (
            mails_about(platform, "rh@cisss.demo.quebec", reference)
            and mails_about(platform, "rac@cegeplevis.demo.quebec", reference)
        )
    )
    time.sleep(2)
    [employer_mail] = mails_about(platform, "rh@cisss.demo.quebec", reference)
    [coordinator_mail] = mails_about(platform, "rac@cegeplevis.demo.quebec", reference)
    assert (
        employer_mail["Subject"] == "Plan de mise en œuvre PMO-CLV-2026-041 résolu de plein droit"
    )
    body = employer_mail.get_body(preferencelist=("plain",)).get_content()
    assert "Bonjour Julie Morin" in body
    assert "CISSS de Chaudière-Appalaches" in body and "Cégep de Lévis" in body
    assert "aucune acceptation écrite n'est parvenue" in body
    assert "1er novembre 2026" in body or "1 novembre 2026" in body
    assert coordinator_mail["Message-ID"] != employer_mail["Message-ID"]

    # The same message waits in each party's in-app inbox, with a link to the plan.
    inbox = platform.api("GET", "/api/messages", platform.token("rh@cisss.demo.quebec")).json()
    [message] = [m for m in inbox["messages"] if "PMO-CLV-2026-041" in m["subject"]]
    assert not message["read"] and message["link"].endswith("/plans/41")
    assert inbox["unread"] >= 1


def test_optional_reminders_follow_preferences_but_legal_notices_do_not(platform):
    ids = organisation_ids(platform)
    token = platform.token("direction@boulangerie.demo.quebec")
    response = platform.api(
        "PUT", "/api/messages/preferences", token, json={"optional_reminders": False}
    )
    assert response.status_code == 200 and response.json() == {"optional_reminders": False}

    reminder = ev.PlanReminderDue(
        plan_id=42,
        version=1,
        reference="PMO-CLV-2026-042",
        institution_id=ids["CLV"],
        employer_id=ids["BSM"],
        days_left=3,
        acceptance_deadline=end_of_day(date(2026, 12, 12)),
    )
    platform.publish_event(reminder)
    copy = wait_until(
        lambda: [
            m
            for m in platform.mails_to("rac@cegeplevis.demo.quebec")
            if "PMO-CLV-2026-042" in m["Subject"]
        ]
    )
    assert copy[0]["Subject"] == "Rappel : il reste 3 jours pour accepter le plan PMO-CLV-2026-042"
    time.sleep(2)
    assert not [
        m
        for m in platform.mails_to("direction@boulangerie.demo.quebec")
        if "PMO-CLV-2026-042" in m["Subject"]
    ]
    inbox = platform.api("GET", "/api/messages", token).json()
    assert [m for m in inbox["messages"] if "PMO-CLV-2026-042" in m["subject"]]

    lapse = ev.PlanLapsed(
        plan_id=42,
        version=1,
        reference="PMO-CLV-2026-042",
        institution_id=ids["CLV"],
        employer_id=ids["BSM"],
        issued_on=date(2026, 11, 12),
        lapsed_on=date(2026, 12, 13),
    )
    platform.publish_event(lapse)
    wait_until(
        lambda: [
            m
            for m in platform.mails_to("direction@boulangerie.demo.quebec")
            if "résolu de plein droit" in m["Subject"]
        ]
    )


def test_a_credit_note_reaches_the_employer_with_its_pdf_even_with_reminders_off(platform):
    """The demo's abandonment credit note (``services/billing/demo.py``, on the plan the
    plans demo cancelled: written to billing's outbox, relayed once billing runs) is
    e-mailed to the CISSS's representative with the PDF billing renders, and put in the
    inbox; a credit note is a legal notice, so turning the optional reminders off changes
    nothing."""
    with platform.engine("billing").connect() as connection:
        bodies = connection.execute(
            text("SELECT body FROM outbox WHERE event_type = 'credit_note.issued' ORDER BY id")
        ).scalars()
        [body] = [b for b in bodies if b["payload"]["reason_kind"] == "abandonment"]
    number, address = body["payload"]["number"], "rh@cisss.demo.quebec"
    [mail] = wait_until(
        lambda: mails_about(platform, address, number), timeout=90, message="not e-mailed"
    )
    assert mail["Subject"].startswith(f"Note de crédit {number} du Cégep de Lévis — ")
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"note-de-credit-{number}.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    text_part = ordinary_spaces(mail.get_body(preferencelist=("plain",)).get_content())
    assert "Bonjour Julie Morin" in text_part and "Motif : Abandon de la démarche par " in text_part
    token = platform.token(address)
    inbox = platform.api("GET", "/api/messages", token).json()
    [message] = [m for m in inbox["messages"] if number in m["subject"]]
    credit_note_id = body["payload"]["credit_note_id"]
    assert message["link"].endswith(f"/facturation/notes-de-credit/{credit_note_id}")

    response = platform.api(
        "PUT", "/api/messages/preferences", token, json={"optional_reminders": False}
    )
    assert response.status_code == 200
    try:
        notice = ev.CreditNoteIssued.model_validate(body["payload"])
        platform.publish_event(notice)  # a second notice of it (another event)
        wait_until(
            lambda: len(mails_about(platform, address, number)) == 2,
            timeout=60,
            message="a legal notice was held back by the preferences",
        )
    finally:
        platform.api("PUT", "/api/messages/preferences", token, json={"optional_reminders": True})


def test_call_published_reaches_every_institution_of_the_order(platform):
    payload = ev.CallPublished(
        call_id=77,
        title="Appel d'intérêt CERAC 2027",
        education_orders=["secondaire"],
        launch_date=date(2026, 12, 1),
        deadline_date=date(2027, 2, 26),
        designation_date=None,
    )
    platform.publish_event(payload)
    wait_until(
        lambda: [
            m
            for m in platform.mails_to("dg@csnavigateurs.demo.quebec")
            if "CERAC 2027" in m["Subject"]
        ]
    )
    time.sleep(2)
    subjects = [(m["To"], m["Subject"]) for m in platform.mails() if "CERAC 2027" in m["Subject"]]
    assert sorted(to for to, _ in subjects) == [
        "dg@csnavigateurs.demo.quebec",
        "rac@csnavigateurs.demo.quebec",
    ]  # no cégep


def test_hostile_organisation_name_is_escaped_in_the_html_part(platform):
    ids = organisation_ids(platform)
    hostile = "<script>alert('x')</script> {{ 7*7 }} Cégep"
    with platform.engine("gateway").begin() as connection:
        connection.execute(
            text("UPDATE organisations SET name = :n WHERE id = :i"),
            {"n": hostile, "i": ids["CLV"]},
        )
    try:
        payload = ev.InvoiceOverdue(
            invoice_id=5,
            number="CLV-2026-0099",
            institution_id=ids["CLV"],
            employer_id=ids["CCA"],
            plan_reference="PMO-CLV-2026-041",
            due_on=date(2026, 10, 1),
            step=1,
            days_late=7,
            balance=Decimal("1234.5"),
        )
        platform.publish_event(payload)
        [mail] = wait_until(
            lambda: [
                m
                for m in platform.mails_to("rh@cisss.demo.quebec")
                if "CLV-2026-0099" in m["Subject"]
            ]
        )
    finally:
        with platform.engine("gateway").begin() as connection:
            connection.execute(
                text("UPDATE organisations SET name = :n WHERE id = :i"),
                {"n": "Cégep de Lévis", "i": ids["CLV"]},
            )
    html = mail.get_body(preferencelist=("html",)).get_content()
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "{{ 7*7 }}" in plain and "1\xa0234,50\xa0$" in plain


def test_an_event_whose_directory_lookup_fails_is_retried_not_lost(platform):
    """The gateway (directory) is down when the event arrives: the handler fails, is retried
    with backoff, and the e-mail goes out once the directory is back.

    The pace is the test's, not the machine's: once the first attempt has failed,
    notifications is stopped (an attempt in flight fails too and schedules its retry), and it
    starts again only when the directory answers. Left running, a busy machine could use up
    every attempt while the gateway starts, and the event would be dead-lettered."""
    ids = organisation_ids(platform)
    reference = "PMO-CLV-2026-043"
    platform.stop_process("gateway")
    try:
        payload = ev.PlanLapsed(
            plan_id=43,
            version=1,
            reference=reference,
            institution_id=ids["CLV"],
            employer_id=ids["CCA"],
            issued_on=date(2026, 10, 1),
            lapsed_on=date(2026, 11, 1) + timedelta(days=1),
        )
        envelope = platform.publish_event(payload)
        log = platform.logs["notifications"]
        wait_until(
            lambda: "on_plan_lapsed failed (attempt" in log.read_text(errors="replace"),
            timeout=90,
            message="the handler never failed and scheduled its retry",
        )
        assert platform.stop_process("notifications") == 0
        assert not [m for m in platform.mails() if reference in m["Subject"]]
    finally:
        platform.start_process("gateway")
        try:
            wait_until(lambda: consumers_of(platform, "rpc-gateway") >= 1, timeout=90)
        finally:
            platform.start_process("notifications")
    mails = wait_until(
        lambda: [m for m in platform.mails() if reference in m["Subject"]], timeout=60
    )
    wait_until(lambda: processed_once(platform, envelope), timeout=30)
    time.sleep(2)  # a duplicate e-mail, if any, has had its chance
    assert len([m for m in platform.mails() if reference in m["Subject"]]) == 2
    assert mails


def processed_once(platform, envelope) -> bool:
    with platform.engine("notifications").connect() as connection:
        return (
            connection.execute(
                text("SELECT count(*) FROM processed_events WHERE event_id = :id"),
                {"id": str(envelope.event_id)},
            ).scalar_one()
            == 1
        )


def consumers_of(platform, queue: str) -> int:
    import kombu

    with kombu.Connection(platform.direct_amqp_uri) as connection:
        _, _, consumers = connection.default_channel.queue_declare(queue=queue, passive=True)
    return consumers


def test_two_replicas_send_each_message_once_even_when_an_event_comes_twice(platform):
    """Two notifications processes compete for the same queues; every event is published
    twice back to back, so both replicas usually hold a copy of it at the same moment."""
    from services.notifications.mailer import stable_message_id

    ids = organisation_ids(platform)
    queue = "evt-plans-plan.lapsed--notifications.on_plan_lapsed"
    platform.start_process("notifications#2")
    try:
        wait_until(lambda: consumers_of(platform, queue) == 2, timeout=60)
        references = [f"PMO-CLV-2026-{n:03d}" for n in range(60, 72)]
        envelopes = {}
        for n, reference in enumerate(references, start=60):
            payload = ev.PlanLapsed(
                plan_id=n,
                version=1,
                reference=reference,
                institution_id=ids["CLV"],
                employer_id=ids["CCA"],
                issued_on=date(2026, 10, 1),
                lapsed_on=date(2026, 11, 1),
            )
            envelopes[reference] = platform.publish_event(payload)
            platform.publish_event(payload, envelopes[reference])  # the same event again

        def ours() -> list:
            return [m for m in platform.mails() if any(r in m["Subject"] for r in references)]

        wait_until(lambda: len(ours()) >= 2 * len(references), timeout=60)
        time.sleep(2)  # a duplicate would have arrived by now
    finally:
        platform.stop_process("notifications#2")

    addresses = ("rh@cisss.demo.quebec", "rac@cegeplevis.demo.quebec")
    mails = ours()
    assert len(mails) == 2 * len(references)
    expected_ids = {
        stable_message_id(str(envelope.event_id), address, "email")
        for envelope in envelopes.values()
        for address in addresses
    }
    assert sorted(m["Message-ID"] for m in mails) == sorted(expected_ids)  # each exactly once
    with platform.engine("notifications").connect() as connection:
        rows = connection.execute(
            text(
                "SELECT channel, recipient, count(*) AS n FROM notifications "
                "WHERE event_id = ANY(:ids) GROUP BY channel, recipient"
            ),
            {"ids": [str(e.event_id) for e in envelopes.values()]},
        ).all()
        processed = connection.execute(
            text("SELECT count(*) FROM processed_events WHERE event_id = ANY(:ids)"),
            {"ids": [str(e.event_id) for e in envelopes.values()]},
        ).scalar_one()
    assert processed == len(references)
    assert sorted((r.channel, r.recipient, r.n) for r in rows) == sorted(
        (channel, address, len(references))
        for channel in ("email", "inapp")
        for address in addresses
    )
    # One in-app message per event in each party's inbox.
    for address in addresses:
        inbox = platform.api("GET", "/api/messages", platform.token(address)).json()
        subjects = [m["subject"] for m in inbox["messages"]]
        for reference in references:
            assert len([s for s in subjects if reference in s]) == 1, (address, reference)


def test_amendment_notices_say_what_happened_and_go_out_whatever_the_preferences(platform):
    """A lapsed amendment, a declined offer and a withdrawn version are legal notices: they
    reach the parties even with optional reminders turned off, and each says what ended and
    what stays in force."""
    ids = organisation_ids(platform)
    token = platform.token("direction@boulangerie.demo.quebec")
    response = platform.api(
        "PUT", "/api/messages/preferences", token, json={"optional_reminders": False}
    )
    assert response.status_code == 200
    common = {
        "plan_id": 44,
        "reference": "PMO-CLV-2026-044",
        "institution_id": ids["CLV"],
        "employer_id": ids["BSM"],
        "issued_on": date(2026, 11, 12),
    }
    platform.publish_event(
        ev.PlanVersionWithdrawn(
            **common,
            version=3,
            withdrawn_on=date(2026, 11, 14),
            amends_version=2,
            reason="Tarif horaire corrigé.",
        )
    )
    platform.publish_event(
        ev.PlanLapsed(
            **common,
            version=4,
            lapsed_on=date(2026, 12, 13),
            amends_version=2,
            amends_issued_on=date(2026, 3, 3),
        )
    )
    platform.publish_event(
        ev.PlanDeclined(
            **{**common, "plan_id": 45, "reference": "PMO-CLV-2026-045"},
            version=1,
            declined_at=datetime(2026, 11, 20, 15, 0, tzinfo=UTC),
            declined_by="Éric Poulin",
            reason="Le calendrier tombe pendant la période des Fêtes.",
        )
    )
    bakery, coordinator = "direction@boulangerie.demo.quebec", "rac@cegeplevis.demo.quebec"
    withdrawn_subject = (
        "Modification du plan de mise en œuvre PMO-CLV-2026-044 (version 3) retirée : la "
        "version 2 demeure en vigueur"
    )
    lapsed_subject = (
        "Modification du plan de mise en œuvre PMO-CLV-2026-044 (version 4) caduque : la "
        "version 2 demeure en vigueur"
    )
    declined_subject = "Offre refusée : plan de mise en œuvre PMO-CLV-2026-045 (version 1)"

    def subjects(address: str) -> dict:
        return {m["Subject"]: m for m in platform.mails_to(address)}

    wait_until(
        lambda: {withdrawn_subject, lapsed_subject, declined_subject} <= set(subjects(bakery))
    )
    wait_until(lambda: {lapsed_subject, declined_subject} <= set(subjects(coordinator)))
    mails = subjects(bakery)
    withdrawn = mails[withdrawn_subject].get_body(preferencelist=("plain",)).get_content()
    assert "Vous n'avez plus à accepter cette modification." in withdrawn
    assert "Tarif horaire corrigé." in withdrawn
    assert "représentez la Boulangerie Saint-Méthode inc. auprès du Cégep de Lévis" in withdrawn
    lapsed = mails[lapsed_subject].get_body(preferencelist=("plain",)).get_content()
    assert "à l'intention de la Boulangerie Saint-Méthode inc., est caduque" in lapsed
    assert "La version 2 du plan, du 3 mars 2026, demeure en vigueur" in lapsed
    assert "ne lie plus les parties" not in lapsed
    declined = subjects(coordinator)[declined_subject].get_body(preferencelist=("plain",))
    text_ = declined.get_content()
    assert "Éric Poulin a refusé, au nom de la Boulangerie Saint-Méthode inc." in text_
    assert "Le calendrier tombe pendant la période des Fêtes." in text_
    # Each is kept in the parties' inboxes too.
    inbox = platform.api("GET", "/api/messages", token).json()
    assert {withdrawn_subject, lapsed_subject, declined_subject} <= {
        m["subject"] for m in inbox["messages"]
    }
    assert not any(
        withdrawn_subject == m["Subject"] for m in platform.mails_to(coordinator)
    )  # the institution withdrew it: only the employer is told

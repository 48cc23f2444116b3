"""Fault injection on the real platform (processes, PostgreSQL, RabbitMQ): killed and
stopped processes, duplicated and out-of-order events, a handler that keeps failing, the
broker going away with and without a backlog, a large PDF rendered while events arrive, and
two replicas of each scheduled job over thousands of due items.

The shared RabbitMQ server is never restarted: this module's processes reach it through a
TCP proxy (``tests/support/tcp_proxy.py``) that a test stops to take the broker away from
this platform only (every connection drops, new ones are refused) and starts again to bring
it back. The test's own tooling (publishing events, reading queues) talks to RabbitMQ
directly. Every test leaves the platform whole: the ``healed`` fixture restarts whatever a
test stopped or killed and waits until every queue has its consumer again.

Already covered elsewhere (not repeated here): an event delivered twice
(``test_reliability``, ``test_notifications_flow``), the outbox keeping events while their
relay is dead (``test_reliability``), retry with backoff, dead letters and replay with a
probe service (``tests/service/test_reliable_events.py``), two invoicing processes over
2 000 installments and an invoicing job killed mid-run (``test_billing_flow``), the
deadline job run twice and by two processes for one plan (``test_plans_flow``).
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import socket
import subprocess
import time
from datetime import date, datetime, timedelta

import eventlet
import kombu
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from pypdf import PdfReader
from sqlalchemy import insert, text

from rac_shared import events as ev
from rac_shared.clock import MONTREAL, clock, end_of_day
from services.billing.models import Invoice
from services.billing.testing import estimate_spec
from services.notifications.mailer import stable_message_id
from services.plans.models import Plan, PlanVersion
from tests.support.platform import BIN, SERVICES, Platform
from tests.support.polling import wait_until
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

TODAY = clock.today()
EMPLOYER = "rh@cisss.demo.quebec"  # CCA's representative
COORDINATOR = "rac@cegeplevis.demo.quebec"  # CLV's coordinator
LAPSED_QUEUE = "evt-plans-plan.lapsed--notifications.on_plan_lapsed"
CANCELLED_QUEUE = "evt-plans-plan.cancelled--billing.on_plan_cancelled"
SEEDED = 2000  # due items the two replicas of each job race over


# -- the platform behind its proxy ----------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy():
    forwarder = TcpProxy(5672).start()
    try:
        yield forwarder
    finally:
        forwarder.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory, proxy):
    with Platform(
        tmp_path_factory.mktemp("faults"),
        amqp_port=proxy.port,
        separate_services=True,
        rpc_timeout=5.0,  # a slow service is waited for this long: kept short here
    ).running() as running:
        yield running


@pytest.fixture(autouse=True)
def healed(platform, proxy):
    """After each test: the broker reachable, every process running and consuming."""
    yield
    proxy.start()
    restarted = False
    for name in ("smtp", *SERVICES, "web"):
        process = platform.processes.get(name)
        if process is None or process.poll() is not None:
            platform.processes.pop(name, None)
            platform.start_process(name)
            restarted = True
    if restarted:
        platform.wait_ready()
    wait_consuming(platform)


@pytest.fixture(scope="module")
def ids(platform) -> dict[str, int]:
    token = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", token).json()["organisations"]
    return {o["code"]: o["id"] for o in organisations}


def actor_of(platform, email: str) -> dict:
    me = platform.api("GET", "/api/me", platform.token(email)).json()
    return {
        "user_id": me["id"],
        "role": me["role"],
        "organisation_id": me["organisation"]["id"],
        "organisation_kind": me["organisation"]["kind"],
        "full_name": me["full_name"],
    }


# -- helpers --------------------------------------------------------------------------------------


def queue_state(platform, name: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, live (passive declare); None if absent."""
    return queue_states(platform, [name])[name]


def queue_states(platform, names) -> dict[str, tuple[int, int] | None]:
    states = {}
    with kombu.Connection(platform.direct_amqp_uri) as connection:
        for name in names:
            channel = connection.channel()
            try:
                _, ready, consumers = channel.queue_declare(queue=name, passive=True)
                states[name] = (ready, consumers)
                channel.close()
            except connection.channel_errors:
                states[name] = None  # the failed declare closed the channel
    return states


def wait_consuming(platform, timeout: float = 60) -> None:
    """Every event queue and every service's RPC queue has a consumer again."""
    names = [
        name for name in platform.queues() if name.startswith("evt-") and ".retry." not in name
    ] + [f"rpc-{service}" for service in SERVICES]

    def idle() -> list[str]:
        return [
            n for n, state in queue_states(platform, names).items() if not state or not state[1]
        ]

    deadline = time.monotonic() + timeout
    while (missing := idle()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not missing, f"queues without a consumer: {missing}\n{platform.tail_logs()}"


def execute(platform, service: str, sql: str, **params) -> None:
    engine = platform.engine(service)
    try:
        with engine.begin() as connection:
            connection.execute(text(sql), params)
    finally:
        engine.dispose()


def processed(platform, service: str, envelopes) -> int:
    return platform.scalar(
        service,
        "SELECT count(*) FROM processed_events WHERE event_id = ANY(:ids)",
        ids=[str(e.event_id) for e in envelopes],
    )


def lapsed(ids, plan_id: int, employer_id: int | None = None) -> ev.PlanLapsed:
    return ev.PlanLapsed(
        plan_id=plan_id,
        version=1,
        reference=f"PMO-CLV-2026-{plan_id}",
        institution_id=ids["CLV"],
        employer_id=employer_id or ids["CCA"],
        issued_on=TODAY - timedelta(days=40),
        lapsed_on=TODAY - timedelta(days=9),
    )


def cancelled(ids, plan_id: int, on: date = TODAY) -> ev.PlanCancelled:
    return ev.PlanCancelled(
        plan_id=plan_id,
        version=1,
        reference=f"PMO-CMV-2026-{plan_id}",
        institution_id=ids["CMV"],
        employer_id=ids["BSM"],
        cancelled_on=on,
        cancelled_by_party="employer",
        reason="Réorganisation du service",
    )


def mails_about(platform, *plan_ids: int) -> list:
    references = tuple(f"-{plan_id} " for plan_id in plan_ids)
    return [m for m in platform.mails() if any(r in m["Subject"] + " " for r in references)]


def expected_message_ids(envelopes, addresses=(EMPLOYER, COORDINATOR)) -> list[str]:
    return sorted(
        stable_message_id(str(e.event_id), address, "email")
        for e in envelopes
        for address in addresses
    )


def exactly_these_mails(platform, plan_ids, envelopes, settle: float = 2.0, **kw) -> list:
    """Wait for every expected e-mail, then make sure none comes twice."""
    expected = expected_message_ids(envelopes, **kw)
    wait_until(
        lambda: len(mails_about(platform, *plan_ids)) >= len(expected),
        timeout=60,
        message=f"missing e-mails\n{platform.tail_logs()}",
    )
    time.sleep(settle)
    assert sorted(m["Message-ID"] for m in mails_about(platform, *plan_ids)) == expected
    return mails_about(platform, *plan_ids)


def log_size(platform, name: str) -> int:
    return platform.logs[name].stat().st_size


def log_since(platform, name: str, offset: int) -> str:
    with open(platform.logs[name], "rb") as log:
        log.seek(offset)
        return log.read().decode("utf-8", "replace")


def rpc(platform, service: str, method: str, timeout: float = 90, **kwargs):
    with ClusterRpcProxy({"AMQP_URI": platform.direct_amqp_uri}, timeout=timeout) as cluster:
        return getattr(getattr(cluster, service), method)(**kwargs)


def billing_plan(platform, plan_id: int):
    engine = platform.engine("billing")
    try:
        with engine.connect() as connection:
            plan = connection.execute(
                text("SELECT status, accepted_version FROM plans WHERE plan_id = :p"),
                {"p": plan_id},
            ).first()
            versions = (
                connection.execute(
                    text("SELECT version FROM installments WHERE plan_id = :p ORDER BY position"),
                    {"p": plan_id},
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    return plan, versions


# -- 1. a consumer killed in the middle of an event -----------------------------------------------


def test_notifications_killed_after_recording_before_its_ack_sends_each_mail_once(platform, ids):
    """The handler has committed the messages and is sending the first e-mail (the SMTP
    server accepted the connection and never answers) when the process is SIGKILLed: the
    event was never acked. After the restart the broker redelivers it, the handler sees it
    was processed, and the pending e-mails go out once each."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # accepts connections (kernel backlog), never answers
    try:
        platform.stop_process("notifications")
        platform.start_process("notifications", env={"SMTP_PORT": str(hole.getsockname()[1])})
        wait_until(lambda: (queue_state(platform, LAPSED_QUEUE) or (0, 0))[1] == 1, timeout=60)
        envelope = platform.publish_event(lapsed(ids, 9101))
        wait_until(
            lambda: (
                platform.scalar(
                    "notifications",
                    "SELECT count(*) FROM notifications WHERE event_id = :id",
                    id=str(envelope.event_id),
                )
                == 4
            ),  # e-mail and in-app message for each party, committed
            message="the messages were never recorded",
        )
        hole.settimeout(60)
        sending, _ = hole.accept()  # the handler is connected, waiting for the greeting
        platform.stop_process("notifications", signal.SIGKILL)
        sending.close()
    finally:
        hole.close()
    assert mails_about(platform, 9101) == []
    wait_until(lambda: queue_state(platform, LAPSED_QUEUE)[0] == 1)  # back in the queue

    platform.start_process("notifications")
    mails = exactly_these_mails(platform, [9101], [envelope])
    assert {m["To"] for m in mails} == {EMPLOYER, COORDINATOR}
    assert processed(platform, "notifications", [envelope]) == 1
    assert (
        platform.scalar(
            "notifications",
            "SELECT count(*) FROM notifications WHERE event_id = :id AND status = 'sent'",
            id=str(envelope.event_id),
        )
        == 4
    )
    inbox = platform.api("GET", "/api/messages", platform.token(EMPLOYER)).json()
    assert len([m for m in inbox["messages"] if "PMO-CLV-2026-9101" in m["subject"]]) == 1


def admissible(ids, call_id: int, application_id: int) -> ev.ApplicationAdmissibilityDecided:
    rule = ev.AdmissibilityRuleOutcome(
        rule="deadline", label="Dépôt dans les délais", passed=True, computed_passed=True,
        reason="Déposée avant la date limite.",
    )  # fmt: skip
    return ev.ApplicationAdmissibilityDecided(
        application_id=application_id,
        call_id=call_id,
        organisation_id=ids["CMV"],
        organisation_name="Cégep Marie-Victorin",
        reference=f"CERAC-2012-CMV-{application_id}",
        admissible=True,
        decision="recevable",
        rules=[rule],
        decided_by_user_id=1,
        decided_at=clock.now(),
    )


def test_scoring_killed_in_a_burst_of_admissible_applications_opens_each_evaluation_once(
    platform, ids
):
    """SIGKILL while scoring opens evaluations for 30 « recevable » decisions: the events it
    had not acked come back after the restart, and every application has one evaluation.

    The test holds the last event in flight instead of racing the burst: its idempotency key
    is taken by an open transaction of the test, so the handler waits inside its own
    transaction until the kill, however fast or slow the machine."""
    call_id = platform.scalar("scoring", "SELECT call_id FROM committees ORDER BY id LIMIT 1")
    first = 7000
    envelopes = [ev.Envelope.wrap(admissible(ids, call_id, first + n)) for n in range(30)]

    def opened() -> int:
        return platform.scalar(
            "scoring",
            "SELECT count(*) FROM evaluations WHERE application_id BETWEEN :a AND :b",
            a=first,
            b=first + 29,
        )

    engine = platform.engine("scoring")
    holder = engine.connect()
    holding = holder.begin()
    try:
        holder.execute(
            text(
                "INSERT INTO processed_events (event_id, handler, processed_at) "
                "VALUES (:e, 'scoring.open_evaluation', now())"
            ),
            {"e": str(envelopes[-1].event_id)},
        )
        for envelope in envelopes:
            platform.publish_event(None, envelope)
        wait_until(lambda: opened() == 29, timeout=60, message="the burst did not go through")
        wait_until(lambda: waiting_on_a_lock(platform, "scoring"), message="nothing in flight")
        platform.stop_process("scoring", signal.SIGKILL)
        assert opened() == 29  # the last one was in flight
    finally:
        holding.rollback()
        holder.close()
        engine.dispose()

    platform.start_process("scoring")
    wait_until(lambda: opened() == 30, timeout=90, message="evaluations were lost")
    time.sleep(2)  # redeliveries, if any, have had their chance to duplicate
    assert opened() == 30
    assert (
        platform.scalar(
            "scoring",
            "SELECT count(DISTINCT application_id) FROM evaluations "
            "WHERE application_id BETWEEN :a AND :b",
            a=first,
            b=first + 29,
        )
        == 30
    )


def waiting_on_a_lock(platform, service: str) -> bool:
    """Whether a connection to the service's database waits for a lock."""
    return bool(
        platform.scalar(
            service,
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
    )


# -- 2. duplicated and out-of-order events --------------------------------------------------------


def test_billing_ignores_a_late_acceptance_and_an_older_version_delivered_twice(platform, ids):
    institution = actor_of(platform, "rac@cmv.demo.quebec")

    def save_estimate(plan_id: int, version: int) -> None:
        rpc(
            platform,
            "billing",
            "save_estimate",
            actor=institution,
            plan={
                "plan_id": plan_id,
                "version": version,
                "reference": f"PMO-CMV-2026-{plan_id}",
                "institution_id": ids["CMV"],
                "employer_id": ids["BSM"],
                "candidate_count": 3,
                "accepted_version": None if version == 1 else 1,
            },
            estimate=estimate_spec(),
        )

    def accepted(plan_id: int, version: int, days_ago: int) -> ev.PlanAccepted:
        return ev.PlanAccepted(
            plan_id=plan_id,
            version=version,
            reference=f"PMO-CMV-2026-{plan_id}",
            institution_id=ids["CMV"],
            employer_id=ids["BSM"],
            accepted_at=clock.now() - timedelta(days=days_ago),
            accepted_by="Éric Poulin",
        )

    def handled(*envelopes) -> bool:
        return processed(platform, "billing", envelopes) == len(envelopes)

    # Plan 9201: its cancellation is handled before its (earlier) acceptance arrives, twice.
    save_estimate(9201, 1)
    cancel = platform.publish_event(cancelled(ids, 9201))
    wait_until(lambda: handled(cancel), message="cancellation not handled")
    late = accepted(9201, 1, days_ago=20)
    late_envelope = platform.publish_event(late)
    platform.publish_event(late, late_envelope)
    platform.publish_event(cancelled(ids, 9201), cancel)  # the cancellation again

    # Plan 9202: version 2 accepted, then version 1's acceptance arrives late, twice.
    save_estimate(9202, 1)
    save_estimate(9202, 2)
    second = accepted(9202, 2, days_ago=5)
    second_envelope = platform.publish_event(second)
    wait_until(lambda: handled(second_envelope), message="version 2 not handled")
    first = accepted(9202, 1, days_ago=30)
    first_envelope = platform.publish_event(first)
    platform.publish_event(first, first_envelope)
    platform.publish_event(second, second_envelope)

    wait_until(lambda: handled(cancel, late_envelope, second_envelope, first_envelope))
    billing_queues = [n for n in platform.queues() if n.startswith("evt-plans-plan.")]
    billing_queues = [n for n in billing_queues if "--billing." in n and ".retry." not in n]
    wait_until(  # the duplicates are taken too
        lambda: all(state[0] == 0 for state in queue_states(platform, billing_queues).values())
    )
    plan, installments = billing_plan(platform, 9201)
    assert (plan.status, plan.accepted_version, installments) == ("cancelled", None, [])
    plan, installments = billing_plan(platform, 9202)
    assert (plan.status, plan.accepted_version) == ("active", 2)
    assert installments == [2, 2, 2]  # version 2's schedule only, once
    assert processed(platform, "billing", [cancel, late_envelope, second_envelope]) == 3


# -- 3. a handler that keeps failing --------------------------------------------------------------


def test_a_handler_that_keeps_failing_is_dead_lettered_and_replayed_with_rac(platform, ids):
    """An event naming an organisation the directory does not know fails every attempt,
    with growing delays, while other events keep flowing; it ends in the dead letters,
    ``rac dead-letters list`` shows it, and once the directory knows the organisation
    ``rac dead-letters replay`` gets it handled, once."""
    ghost = 990001
    offset = log_size(platform, "notifications")
    stuck = platform.publish_event(lapsed(ids, 9301, employer_id=ghost))
    fine = platform.publish_event(lapsed(ids, 9302))
    exactly_these_mails(platform, [9302], [fine], settle=0)  # not held up by the failing one

    wait_until(
        lambda: queue_state(platform, "rac.dead-letters")[0] == 1,
        timeout=60,
        message=f"never dead-lettered\n{platform.tail_logs()}",
    )
    [line] = platform.rac("dead-letters", "list").stdout.strip().splitlines()
    letter = json.loads(line)
    assert letter["event_id"] == str(stuck.event_id)
    assert letter["queue"] == LAPSED_QUEUE
    assert letter["attempts"] == 5
    assert "Organisation introuvable" in letter["error"]
    delays = [
        json.loads(entry)["message"].split("retry in ")[1].split("s:")[0]
        for entry in log_since(platform, "notifications", offset).splitlines()
        if LAPSED_QUEUE in entry and "retry in" in entry
    ]
    assert delays == ["0.2", "0.4", "0.8", "1.6"]  # exponential backoff
    assert processed(platform, "notifications", [stuck]) == 0
    assert mails_about(platform, 9301) == []

    # The cause is fixed: the organisation is now in the directory (with nobody in it).
    execute(
        platform,
        "gateway",
        "INSERT INTO organisations (id, kind, name, code) "
        "VALUES (:id, 'employer', 'Fromagerie du Témiscouata', 'FDT')",
        id=ghost,
    )
    replayed = platform.rac("dead-letters", "replay").stdout.strip()
    assert replayed == "1 message renvoyé à leur file d'origine."
    exactly_these_mails(platform, [9301], [stuck], addresses=(COORDINATOR,))
    assert processed(platform, "notifications", [stuck]) == 1
    assert platform.rac("dead-letters", "list").stdout.strip() == "Aucun message en lettre morte."


# -- 4. the broker unreachable while users keep working -------------------------------------------


def seed_due_plans(
    platform, institution_id: int, employer_id: int, first_id: int, count: int, deadline_day: date
) -> None:
    """``count`` issued plans whose acceptance deadline is ``deadline_day``, written straight
    into the plans database as issuing them would have left them."""
    now = clock.now()
    deadline = end_of_day(deadline_day)
    issued_on = deadline_day - timedelta(days=30)
    plans = [
        {
            "id": first_id + n,
            "reference": f"PMO-T{institution_id}-{first_id + n}",
            "institution_id": institution_id,
            "institution_kind": "cegep",
            "institution_code": "CLV",
            "employer_id": employer_id,
            "employer_name": "CISSS de Chaudière-Appalaches",
            "program_code": "JEE.0K",
            "program_title": "Techniques d'éducation à l'enfance",
            "status": "issued",
            "current_version": 1,
            "ever_issued": True,
            "created_by_user_id": 1,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    versions = [
        {
            "plan_id": first_id + n,
            "number": 1,
            "status": "issued",
            "content": {},
            "created_at": now,
            "updated_at": now,
            "issued_on": issued_on,
            "issued_at": datetime.combine(issued_on, datetime.min.time(), tzinfo=MONTREAL),
            "acceptance_deadline": deadline,
            "content_hash": "0" * 64,
        }
        for n in range(count)
    ]
    engine = platform.engine("plans")
    try:
        with engine.begin() as connection:
            connection.execute(insert(Plan.__table__), plans)
            connection.execute(insert(PlanVersion.__table__), versions)
    finally:
        engine.dispose()


def outbox_rows(platform, service: str, event_type: str, field: str, values) -> list:
    engine = platform.engine(service)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT event_id, published_at, attempts FROM outbox WHERE event_type = :t "
                    f"AND body->'payload'->>'{field}' = ANY(:v) ORDER BY id"
                ),
                {"t": event_type, "v": [str(v) for v in values]},
            ).all()
    finally:
        engine.dispose()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_without_the_broker_local_commands_succeed_and_rpc_ones_fail_fast(platform, proxy, ids):
    seed_due_plans(platform, ids["CLV"], ids["CCA"], 9401, 1, TODAY - timedelta(days=2))
    token = platform.token(EMPLOYER)
    cookie = platform.session_cookie(EMPLOYER)
    preferences = platform.api("GET", "/api/messages/preferences", token).json()
    proxy.stop()
    try:
        # Commands that need no RPC: log in, ask for a password reset, run a job.
        response, seconds = timed(
            lambda: platform.api(
                "POST", "/api/auth/token", json={"email": EMPLOYER, "password": "rac-demo-2026"}
            )
        )
        assert response.status_code == 200 and seconds < 3
        response = platform.api(
            "POST", "/api/auth/password-reset", json={"email": "rac@cmv.demo.quebec"}
        )
        assert response.status_code == 202
        job = platform.rac(
            "jobs", "run", "plan-deadlines", "--as-of", TODAY.isoformat(), timeout=60
        )
        assert json.loads(job.stdout.strip().splitlines()[-1])["lapsed"] >= 1

        # Commands that need a service: a clear 503 at once, nothing changed.
        for method, path, body in (
            ("GET", "/api/plans", None),
            ("PUT", "/api/messages/preferences", {"optional_reminders": False}),
        ):
            response, seconds = timed(
                lambda m=method, p=path, b=body: platform.api(m, p, token, json=b)
            )
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable"
            assert "momentanément indisponible" in response.json()["error"]["message"]
            assert seconds < 3, f"{method} {path} took {seconds:.1f}s"
        page, seconds = timed(
            lambda: platform.api("GET", "/", headers={"Cookie": f"rac_session={cookie}"})
        )
        assert page.status_code == 200 and seconds < 8  # home names what is unavailable
        assert "indisponible" in page.text

        # The events wait in their outboxes.
        time.sleep(2)
        [reset] = outbox_rows(
            platform, "gateway", "user.password_reset_requested", "email", ["rac@cmv.demo.quebec"]
        )
        [lapse] = outbox_rows(platform, "plans", "plan.lapsed", "plan_id", [9401])
        assert reset.published_at is None and lapse.published_at is None
    finally:
        proxy.start()

    wait_consuming(platform)

    # Every event is delivered once the broker is back, and only once.
    def resets() -> list:
        return [
            m
            for m in platform.mails_to("rac@cmv.demo.quebec")
            if m["Subject"] == "Réinitialisation de votre mot de passe"
        ]

    wait_until(resets, timeout=60, message="no reset e-mail")
    exactly_these_mails(platform, [9401], [lapse])
    assert len(resets()) == 1
    assert resets()[0]["Message-ID"] == stable_message_id(reset.event_id, "rac@cmv.demo.quebec")
    for row in outbox_rows(
        platform, "gateway", "user.password_reset_requested", "email", ["rac@cmv.demo.quebec"]
    ) + outbox_rows(platform, "plans", "plan.lapsed", "plan_id", [9401]):
        assert row.published_at is not None and row.attempts == 1
    # The web gateway reconnects too: the very next calls succeed.
    for _ in range(5):
        response = platform.api("GET", "/api/plans", token)
        assert response.status_code == 200, response.text
    assert platform.api("GET", "/api/messages/preferences", token).json() == preferences


def test_a_stopped_service_answers_503_at_once_and_a_slow_one_504_after_its_timeout(platform):
    """A frozen service (SIGSTOP: its consumer is still registered) is slow: the person waits
    the RPC timeout, no longer, and gets 504. A stopped service (no consumer on its queue)
    is refused before anything is published: 503 at once, not after the timeout. Both
    answers are French, as a page and as the API's JSON."""
    rpc_timeout = float(platform.env["RPC_TIMEOUT"])
    token = platform.token(EMPLOYER)
    cookie = platform.session_cookie(EMPLOYER)

    def api():
        return timed(lambda: platform.api("GET", "/api/plans", token))

    def page():
        return platform.api("GET", "/plans", headers={"Cookie": f"rac_session={cookie}"})

    assert api()[0].status_code == 200 and page().status_code == 200
    plans = platform.processes["plans"]
    os.killpg(plans.pid, signal.SIGSTOP)
    try:
        (slow, waited), slow_page = api(), page()
    finally:
        os.killpg(plans.pid, signal.SIGCONT)
    assert slow.status_code == 504, slow.text
    assert slow.json()["error"]["code"] == "timeout"
    assert "tarde à répondre" in slow.json()["error"]["message"]
    assert waited >= rpc_timeout  # bounded by the timeout, and only then an answer
    assert slow_page.status_code == 504
    assert "Délai de réponse dépassé" in slow_page.text
    assert "tarde à répondre" in slow_page.text

    platform.stop_process("plans")
    stopped, refused_in = api()
    stopped_page = page()
    print(f"504 after {waited:.2f} s; 503 after {refused_in * 1000:.0f} ms")
    assert stopped.status_code == 503, stopped.text
    assert stopped.json()["error"]["code"] == "unavailable"
    assert "momentanément indisponible" in stopped.json()["error"]["message"]
    assert refused_in < rpc_timeout  # at once: it used to wait the whole timeout
    assert stopped_page.status_code == 503
    assert "Service momentanément indisponible" in stopped_page.text
    assert "Traceback" not in stopped_page.text + slow_page.text


# -- 5. the broker goes away with a backlog -------------------------------------------------------


def test_services_reconnect_by_themselves_and_handle_the_backlog_once(platform, proxy, ids):
    proxy.stop()
    try:
        wait_until(
            lambda: (queue_state(platform, LAPSED_QUEUE) or (0, 1))[1] == 0,
            message="the platform's consumers did not notice the broker was gone",
        )
        notices = [platform.publish_event(lapsed(ids, 9500 + n)) for n in range(1, 21)]
        platform.publish_event(lapsed(ids, 9501), notices[0])  # one of them twice
        cancellations = [platform.publish_event(cancelled(ids, 9520 + n)) for n in range(1, 11)]
        platform.publish_event(cancelled(ids, 9521), cancellations[0])
        assert queue_state(platform, LAPSED_QUEUE) == (21, 0)
        assert queue_state(platform, CANCELLED_QUEUE) == (11, 0)
    finally:
        proxy.start()

    wait_consuming(platform)  # nobody was restarted
    exactly_these_mails(platform, range(9501, 9521), notices)
    wait_until(lambda: processed(platform, "billing", cancellations) == 10)
    assert queue_state(platform, LAPSED_QUEUE)[0] == 0
    assert queue_state(platform, CANCELLED_QUEUE)[0] == 0
    assert processed(platform, "notifications", notices) == 20
    assert (
        platform.scalar(
            "billing",
            "SELECT count(*) FROM plans WHERE plan_id BETWEEN 9521 AND 9530 "
            "AND status = 'cancelled'",
        )
        == 10
    )
    assert requests_ok(platform)


def requests_ok(platform) -> bool:
    response = platform.api("GET", "/readyz")
    assert response.status_code == 200, response.text
    return True


# -- 6. a large PDF rendered while the same service receives messages -----------------------------


def test_a_large_pdf_does_not_hold_up_the_events_of_its_service(platform, ids):
    invoices = Invoice.__table__
    engine = platform.engine("billing")
    try:
        with engine.begin() as connection:
            model = (
                connection.execute(
                    invoices.select().where(invoices.c.institution_id == ids["CLV"]).limit(1)
                )
                .mappings()
                .one()
            )
            row = {k: v for k, v in model.items() if k != "id"}
            row.update(
                number=f"{model['number']}-GROS",
                sequence=90_000,
                installment_id=None,
                lines=[
                    {**line, "description": f"{line['description']} — séance {n}"}
                    for n in range(1, 251)
                    for line in model["lines"]
                ],
            )
            invoice_id = connection.execute(
                insert(invoices).values(**row).returning(invoices.c.id)
            ).scalar_one()
    finally:
        engine.dispose()
    offset = log_size(platform, "billing")
    coordinator = actor_of(platform, COORDINATOR)

    started = time.monotonic()
    rendering = eventlet.spawn(
        rpc, platform, "billing", "invoice_pdf", actor=coordinator, invoice_id=invoice_id
    )
    eventlet.sleep(0.5)  # billing has begun rendering
    envelopes = [platform.publish_event(cancelled(ids, 9600 + n)) for n in range(1, 31)]
    wait_until(lambda: processed(platform, "billing", envelopes) == 30, timeout=60)
    handled_after = time.monotonic() - started
    document = rendering.wait()
    rendered_after = time.monotonic() - started
    pages = len(PdfReader(io.BytesIO(base64.b64decode(document["content_b64"]))).pages)
    print(
        f"{pages} pages rendered in {rendered_after:.1f}s; events handled in {handled_after:.1f}s"
    )
    assert pages > 10
    assert handled_after < rendered_after  # the events did not wait for the document

    # No redelivery (a missed heartbeat would have dropped the connection and requeued).
    def stats():
        queue = platform.queues()[CANCELLED_QUEUE].get("message_stats", {})
        return queue if queue.get("ack", 0) >= 30 else None

    counters = wait_until(stats, timeout=20, message="no message stats")
    assert counters.get("redeliver", 0) == 0, counters
    assert (
        platform.scalar(
            "billing",
            "SELECT count(*) FROM plans WHERE plan_id BETWEEN 9601 AND 9630",
        )
        == 30
    )
    log = log_since(platform, "billing", offset).lower()
    assert "heartbeat" not in log and "connection" not in log, log[-3000:]


# -- 7. SIGTERM to each service -------------------------------------------------------------------


def test_sigterm_lets_in_flight_work_finish_or_go_back_to_the_queue(platform, ids):
    # notifications, in the middle of a burst of e-mails: the mail server takes a second per
    # message, so 60 e-mails last several seconds however fast the machine (the pace of the
    # burst is the test's, not a race with the clock)
    platform.stop_process("smtp")
    platform.smtp_pace = 1.0
    platform.start_process("smtp")
    burst = range(9801, 9831)
    notices = [platform.publish_event(lapsed(ids, plan_id)) for plan_id in burst]
    wait_until(lambda: len(mails_about(platform, *burst)) >= 2, timeout=60)
    out_at_sigterm = len(mails_about(platform, *burst))
    code = platform.stop_process("notifications")
    assert code == 0, platform.tail_logs()  # stopped by itself, not killed after a delay
    assert out_at_sigterm < 2 * len(burst), "the burst was over before SIGTERM"
    platform.stop_process("smtp")
    platform.smtp_pace = 0.0
    platform.start_process("smtp")

    # billing, in the middle of a burst of events
    cancellations = [platform.publish_event(cancelled(ids, 9730 + n)) for n in range(1, 41)]
    wait_until(lambda: processed(platform, "billing", cancellations) >= 2, timeout=30)
    assert platform.stop_process("billing") == 0
    done_at_stop = processed(platform, "billing", cancellations)

    # the gateway with an event in its outbox, and every other service
    response = platform.api(
        "POST", "/api/auth/password-reset", json={"email": "rac@csnavigateurs.demo.quebec"}
    )
    assert response.status_code == 202
    codes = platform.stop_processes("gateway", "applications", "scoring", "plans")
    assert codes == {"gateway": 0, "applications": 0, "scoring": 0, "plans": 0}

    for name in ("notifications", "billing", "gateway", "applications", "scoring", "plans"):
        platform.start_process(name)
    platform.wait_ready()
    exactly_these_mails(platform, burst, notices)
    wait_until(lambda: processed(platform, "billing", cancellations) == 40)
    print(f"billing had handled {done_at_stop} of 40 events when stopped")
    assert (
        platform.scalar(
            "billing",
            "SELECT count(*) FROM plans WHERE plan_id BETWEEN 9731 AND 9770",
        )
        == 40
    )
    wait_until(lambda: platform.mails_to("rac@csnavigateurs.demo.quebec"), timeout=60)
    time.sleep(1)
    assert len(platform.mails_to("rac@csnavigateurs.demo.quebec")) == 1


# -- 8. two replicas of every job over thousands of due items -------------------------------------


def seed_overdue_invoices(platform, institution_id: int, count: int, due: date) -> None:
    """``count`` unpaid invoices of a test institution, copied from a demo invoice."""
    engine = platform.engine("billing")
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO invoices (number, kind, institution_id, employer_id, plan_id, "
                    "plan_reference, version, installment_id, fiscal_year, sequence, issued_on, "
                    "due_on, payment_term_days, lines, subtotal, taxes, total, parties, "
                    "payment_instructions, created_at, paid_total, credited_total) "
                    "SELECT 'T' || :i || '-' || n, kind, :i, employer_id, plan_id, "
                    "plan_reference, version, NULL, fiscal_year, n, :due - 30, :due, "
                    "payment_term_days, lines, subtotal, taxes, total, parties, "
                    "payment_instructions, created_at, 0, 0 "
                    "FROM (SELECT * FROM invoices ORDER BY id LIMIT 1) AS model, "
                    "generate_series(1, :count) AS n"
                ),
                {"i": institution_id, "count": count, "due": due},
            )
    finally:
        engine.dispose()


def start_job(platform, job: str, as_of: date) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "rac"), "jobs", "run", job, "--as-of", as_of.isoformat()],
        env=platform.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def results_of(processes) -> list[dict]:
    outputs = [process.communicate(timeout=100) for process in processes]
    assert [p.returncode for p in processes] == [0] * len(processes), outputs
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def test_two_replicas_of_each_job_over_thousands_of_due_items_handle_each_once(platform, ids):
    """plan-deadlines and overdue-reminders (invoicing: ``test_billing_flow``). The relays
    of plans and billing are stopped meanwhile: thousands of test events must not become
    e-mails; they are marked published before the services start again."""
    platform.stop_processes("plans", "billing")
    institution, first_plan = 7301, 700_001
    try:
        seed_due_plans(
            platform, institution, ids["CCA"], first_plan, SEEDED, TODAY - timedelta(days=2)
        )
        seed_overdue_invoices(platform, institution, SEEDED, TODAY - timedelta(days=10))

        # Two replicas of each job, all started at the same instant.
        deadlines = [start_job(platform, "plan-deadlines", TODAY) for _ in range(2)]
        overdue = [start_job(platform, "overdue-reminders", TODAY) for _ in range(2)]
        results = results_of(deadlines)
        print(f"plan-deadlines: {[r['lapsed'] for r in results]} lapsed by each process")
        assert sum(r["lapsed"] for r in results) >= SEEDED
        lapses = platform.scalar(
            "plans",
            "SELECT count(DISTINCT body->'payload'->>'plan_id') || '/' || count(*) FROM outbox "
            "WHERE event_type = 'plan.lapsed' AND (body->'payload'->>'institution_id')::int = :i",
            i=institution,
        )
        assert lapses == f"{SEEDED}/{SEEDED}"
        assert (
            platform.scalar(
                "plans",
                "SELECT count(*) FROM plans WHERE institution_id = :i AND status = 'lapsed'",
                i=institution,
            )
            == SEEDED
        )

        results = results_of(overdue)
        print(f"overdue-reminders: {[r['reminders'] for r in results]} published by each")
        assert sum(r["reminders"] for r in results) >= SEEDED
        reminders = platform.scalar(
            "billing",
            "SELECT count(DISTINCT body->'payload'->>'invoice_id') || '/' || count(*) FROM outbox "
            "WHERE event_type = 'invoice.overdue' "
            "AND (body->'payload'->>'institution_id')::int = :i",
            i=institution,
        )
        assert reminders == f"{SEEDED}/{SEEDED}"
        assert (
            platform.scalar(
                "billing",
                "SELECT count(*) FROM overdue_reminders r JOIN invoices i ON i.id = r.invoice_id "
                "WHERE i.institution_id = :i",
                i=institution,
            )
            == SEEDED
        )
    finally:
        for service in ("plans", "billing"):
            execute(
                platform,
                service,
                "UPDATE outbox SET published_at = now() WHERE published_at IS NULL "
                "AND (body->'payload'->>'institution_id')::int = :i",
                i=institution,
            )

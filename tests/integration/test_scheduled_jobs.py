"""Scheduled jobs that run themselves, over the real platform (RabbitMQ, PostgreSQL, every
service in its own process, two replicas of each service that owns jobs).

The whole platform's clock is moved forward by writing ``RAC_CLOCK_FILE`` — nobody types a
``rac jobs`` command. Over about forty days:

- an offer left unaccepted gets its reminders 10, 3 and 1 days before its deadline, each
  once and on its day, then lapses once, the day after its deadline;
- an accepted plan's installment is invoiced once, the morning after acceptance, and its
  invoice gets one overdue reminder seven days after its due date;
- every job has exactly one successful run per day in its service's ledger, days missed
  while the clock jumped are caught up in order, and ``rac jobs status`` shows the last and
  next run of each job.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import text

from rac_shared.clock import MONTREAL, set_clock_file
from tests.integration.test_plans_flow import (
    COORDINATOR,
    EMPLOYER,
    accept,
    create_issued_plan,
    ok,
)
from tests.support.platform import Platform
from tests.support.polling import wait_until

JOBS = {
    service: [*jobs, f"purge-published-events-{service}"]
    for service, jobs in {
        "applications": ["report-deadlines"],
        "plans": ["plan-deadlines", "personal-information-retention"],
        "billing": ["invoicing", "overdue-reminders"],
        "gateway": ["purge-credentials"],
        "scoring": [],
        "notifications": [],
    }.items()
}
# Two replicas of the services with jobs of their own (the others run only the purge).
REPLICATED = ("applications", "plans", "billing", "gateway")
START = datetime.combine(date.today(), time(9, 0), tzinfo=MONTREAL)
T0 = START.date()


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("scheduled")
    clock_file = workdir / "clock"
    set_clock_file(clock_file, START)
    running = Platform(
        workdir,
        separate_services=True,
        extra_env={
            "RAC_CLOCK_FILE": str(clock_file),
            "SCHEDULER_ENABLED": "true",
            "JOB_TICK_SECONDS": "0.3",
            "JOB_CATCH_UP_DAYS": "60",
            "JOB_LEASE_SECONDS": "120",
        },
    )
    running.clock_file = clock_file
    running.prepare()
    try:
        running.start()
        for service in REPLICATED:
            running.start_process(f"{service}#2")
        yield running
    finally:
        running.stop()


def move_clock(platform, instant: datetime) -> None:
    set_clock_file(platform.clock_file, instant)


def ledger(platform, service: str) -> list[dict]:
    engine = platform.engine(service)
    try:
        with engine.connect() as connection:
            return [
                dict(row)
                for row in connection.execute(
                    text("SELECT job, as_of, status, runner FROM job_runs ORDER BY job, as_of")
                ).mappings()
            ]
    finally:
        engine.dispose()


def caught_up(platform, through: dict[str, date]) -> bool:
    """Every job has succeeded up to its date in ``through``."""
    for service, jobs in JOBS.items():
        done = {
            (r["job"], r["as_of"]) for r in ledger(platform, service) if r["status"] == "succeeded"
        }
        for job in jobs:
            if (job, through[job]) not in done:
                return False
    return True


def wait_caught_up(platform, through: dict[str, date], timeout: float = 240) -> None:
    wait_until(
        lambda: caught_up(platform, through),
        timeout=timeout,
        message=f"jobs not caught up through {through}",
    )


def everyone_through(day: date, plan_deadlines: date | None = None) -> dict[str, date]:
    through = {job: day for jobs in JOBS.values() for job in jobs}
    if plan_deadlines is not None:
        through["plan-deadlines"] = plan_deadlines
    return through


def outbox(platform, service: str, event_type: str) -> list[dict]:
    engine = platform.engine(service)
    try:
        with engine.connect() as connection:
            result = connection.execute(
                text("SELECT body, created_at FROM outbox WHERE event_type = :t ORDER BY id"),
                {"t": event_type},
            ).all()
    finally:
        engine.dispose()
    return [
        {**row.body["payload"], "_day": row.created_at.astimezone(MONTREAL).date()}
        for row in result
    ]


def tokens_now(platform) -> dict[str, str]:
    # Tokens carry the platform's time: take new ones after each move of the clock.
    return {email: platform.token(email) for email in (COORDINATOR, EMPLOYER)}


def test_jobs_run_themselves_once_a_day_on_two_replicas(platform):
    # Day 0, 09:00: a new ledger runs each job for today, with nobody asking.
    wait_caught_up(platform, everyone_through(T0))

    tokens = tokens_now(platform)
    lapsing = create_issued_plan(platform, tokens)
    accepted = create_issued_plan(platform, tokens)
    assert accept(platform, tokens, accepted["id"]).status_code == 200
    issued_on = date.fromisoformat(
        ok(platform.api("GET", f"/api/plans/{lapsing['id']}", tokens[COORDINATOR]))["version"][
            "issued_on"
        ]
    )
    assert issued_on == T0
    deadline_day = T0 + timedelta(days=30)
    # Billing learns of the acceptance by an event: on a busy machine it can come after the
    # clock moves, and the first installment would then be invoiced a day late.
    wait_until(
        lambda: platform.scalar(
            "billing", "SELECT COUNT(*) FROM installments WHERE plan_id = :p", p=accepted["id"]
        ),
        timeout=120,
        message="billing never recorded the accepted plan's installments",
    )

    # Twenty days later, at 09:00: twenty days caught up in order, the first reminder sent.
    move_clock(platform, START + timedelta(days=20))
    wait_caught_up(platform, everyone_through(T0 + timedelta(days=20)))
    reminders = [r for r in outbox(platform, "plans", "plan.reminder_due")]
    assert [(r["days_left"], r["_day"]) for r in reminders if r["plan_id"] == lapsing["id"]] == [
        (10, deadline_day - timedelta(days=10))
    ]
    invoices = [i for i in outbox(platform, "billing", "invoice.issued")]
    mine = [i for i in invoices if i["plan_id"] == accepted["id"]]
    assert [i["_day"] for i in mine] == [T0 + timedelta(days=1)]  # the morning after

    # Ten minutes past midnight, the day after the deadline: only plan-deadlines has run.
    move_clock(
        platform,
        datetime.combine(deadline_day + timedelta(days=1), time(0, 10), tzinfo=MONTREAL),
    )
    wait_caught_up(
        platform, everyone_through(deadline_day, plan_deadlines=deadline_day + timedelta(days=1))
    )
    [lapse] = [e for e in outbox(platform, "plans", "plan.lapsed") if e["plan_id"] == lapsing["id"]]
    assert lapse["lapsed_on"] == (deadline_day + timedelta(days=1)).isoformat()
    assert lapse["_day"] == deadline_day + timedelta(days=1)
    tokens = tokens_now(platform)
    view = ok(platform.api("GET", f"/api/plans/{lapsing['id']}", tokens[COORDINATOR]))
    assert view["plan"]["status"] == "lapsed"

    # Forty days after the start: the invoice, due 30 days after issue, is 7 days late.
    move_clock(platform, START + timedelta(days=40))
    final_day = T0 + timedelta(days=40)
    wait_caught_up(platform, everyone_through(final_day))

    reminders = [r for r in outbox(platform, "plans", "plan.reminder_due")]
    assert sorted(
        (r["days_left"], r["_day"]) for r in reminders if r["plan_id"] == lapsing["id"]
    ) == sorted((days, deadline_day - timedelta(days=days)) for days in (10, 3, 1))
    assert [e for e in outbox(platform, "plans", "plan.lapsed") if e["plan_id"] == lapsing["id"]]
    assert (
        len([e for e in outbox(platform, "plans", "plan.lapsed") if e["plan_id"] == lapsing["id"]])
        == 1
    )
    mine = [
        i for i in outbox(platform, "billing", "invoice.issued") if i["plan_id"] == accepted["id"]
    ]
    assert len(mine) == 1
    [overdue] = [
        o
        for o in outbox(platform, "billing", "invoice.overdue")
        if o["number"] == mine[0]["number"]
    ]
    assert overdue["days_late"] == 7
    # Nothing invoiced twice anywhere on the platform.
    numbers = [i["number"] for i in outbox(platform, "billing", "invoice.issued")]
    assert len(numbers) == len(set(numbers))

    # Each job ran exactly once per day, with no gap, from day 0 on.
    runners = set()
    for service, jobs in JOBS.items():
        runs = ledger(platform, service)
        for job in jobs:
            days = [r["as_of"] for r in runs if r["job"] == job]
            assert all(r["status"] == "succeeded" for r in runs if r["job"] == job)
            assert days == [T0 + timedelta(days=n) for n in range(len(days))], job
            assert days[-1] == final_day
        runners |= {r["runner"] for r in runs}
    assert len(runners) >= 2  # the work was shared, not done by a single process

    # The e-mails went out once: one lapse notice and three reminders for the employer.
    reference = lapsing["reference"]

    def employer_mails(fragment: str) -> list:
        return [
            m
            for m in platform.mails_to(EMPLOYER)
            if reference in m["Subject"] and fragment in m["Subject"]
        ]

    wait_until(lambda: len(employer_mails("résolu de plein droit")) >= 1, timeout=60)
    wait_until(lambda: len(employer_mails("Rappel")) >= 3, timeout=60)
    assert len(employer_mails("résolu de plein droit")) == 1
    assert len(employer_mails("Rappel")) == 3

    # What an operator reads.
    status = [
        json.loads(line)
        for line in platform.rac("jobs", "status", "--json").stdout.strip().splitlines()
    ]
    assert {row["job"] for row in status} == {job for jobs in JOBS.values() for job in jobs}
    for row in status:
        assert row["last"]["as_of"] == final_day.isoformat()
        assert row["last"]["status"] == "succeeded"
        assert row["next_as_of"] == (final_day + timedelta(days=1)).isoformat()
    readable = platform.rac("jobs", "status").stdout
    assert "plan-deadlines" in readable and "réussie" in readable

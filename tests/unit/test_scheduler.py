"""The scheduler's ledger: each (job, day) once, days caught up in order, failures retried
then abandoned, crashed runs taken over, and the clock pinned for the job alone."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from rac_shared.clock import MONTREAL, clock, set_clock_file
from rac_shared.db import SessionFactory, new_metadata
from rac_shared.scheduler import (
    ABANDONED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    JobLedger,
    ScheduledJob,
    Scheduler,
    install_job_ledger,
)
from rac_shared.settings import Settings

DAY = date(2027, 3, 8)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=MONTREAL)


@pytest.fixture
def factory(tmp_path) -> SessionFactory:
    metadata = new_metadata()
    install_job_ledger(metadata)
    made = SessionFactory("scheduler_test", metadata, url=f"sqlite:///{tmp_path / 'jobs.db'}")
    metadata.create_all(made.engine)
    return made


def settings(**overrides) -> Settings:
    values = {
        "job_catch_up_days": 31,
        "job_max_attempts": 3,
        "job_retry_seconds": 60,
        "job_lease_seconds": 600,
        **overrides,
    }
    return Settings(**values)


class Recorder:
    """A job body that records the as-of date and what the clock said while it ran."""

    def __init__(self, fail_times: int = 0):
        self.calls: list[tuple[date, date]] = []
        self.fail_times = fail_times

    def __call__(self, as_of: date) -> dict:
        self.calls.append((as_of, clock.today()))
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("base de données injoignable")
        return {"done": as_of.isoformat()}


def job_of(body, name: str = "invoicing", hour: int = 5) -> ScheduledJob:
    return ScheduledJob(name, "billing", "test", body, time(hour, 0))


def rows(factory: SessionFactory) -> list[dict]:
    table = factory.metadata.tables["job_runs"]
    with factory() as session:
        return [dict(r) for r in session.execute(select(table).order_by(table.c.as_of)).mappings()]


def test_a_new_ledger_runs_the_latest_due_day_once(factory):
    body = Recorder()
    scheduler = Scheduler([job_of(body)], factory, settings())
    with clock.frozen_at(at(DAY, 10)):
        assert [r["as_of"] for r in scheduler.tick()] == [DAY]
        assert scheduler.tick() == []
    assert body.calls == [(DAY, DAY)]
    [row] = rows(factory)
    assert (row["status"], row["attempts"], row["result"]) == (
        SUCCEEDED,
        1,
        {"done": DAY.isoformat()},
    )


def test_before_its_time_of_day_the_day_does_not_run(factory):
    body = Recorder()
    scheduler = Scheduler([job_of(body)], factory, settings())
    with clock.frozen_at(at(DAY, 10)):
        scheduler.tick()
    with clock.frozen_at(at(DAY + timedelta(days=1), 4, 59)):
        assert scheduler.tick() == []
    with clock.frozen_at(at(DAY + timedelta(days=1), 5, 0)):
        assert [r["as_of"] for r in scheduler.tick()] == [DAY + timedelta(days=1)]


def test_missed_days_are_caught_up_in_order_each_with_its_own_date(factory):
    body = Recorder()
    scheduler = Scheduler([job_of(body)], factory, settings())
    with clock.frozen_at(at(DAY, 10)):
        scheduler.tick()
    with clock.frozen_at(at(DAY + timedelta(days=4), 9)):
        scheduler.tick()
    expected = [DAY + timedelta(days=n) for n in range(5)]
    assert [as_of for as_of, _ in body.calls] == expected
    # The clock the job saw was the end of its own day, not the real "today".
    assert [seen for _, seen in body.calls] == expected
    assert [r["as_of"] for r in rows(factory)] == expected


def test_catch_up_is_bounded(factory):
    body = Recorder()
    scheduler = Scheduler([job_of(body)], factory, settings(job_catch_up_days=3))
    with clock.frozen_at(at(DAY, 10)):
        scheduler.tick()
    with clock.frozen_at(at(DAY + timedelta(days=10), 10)):
        scheduler.tick()
    assert [as_of for as_of, _ in body.calls] == [
        DAY,
        DAY + timedelta(days=8),
        DAY + timedelta(days=9),
        DAY + timedelta(days=10),
    ]


def test_jobs_of_a_service_run_in_the_order_of_their_times(factory):
    order = []
    early = job_of(lambda d: order.append(("invoicing", d)) or {}, "invoicing", 5)
    later = job_of(lambda d: order.append(("overdue-reminders", d)) or {}, "overdue-reminders", 8)
    scheduler = Scheduler([later, early], factory, settings())
    with clock.frozen_at(at(DAY, 9)):
        scheduler.tick()
    with clock.frozen_at(at(DAY + timedelta(days=2), 9)):
        scheduler.tick()
    assert order == [
        ("invoicing", DAY),
        ("overdue-reminders", DAY),
        ("invoicing", DAY + timedelta(days=1)),
        ("overdue-reminders", DAY + timedelta(days=1)),
        ("invoicing", DAY + timedelta(days=2)),
        ("overdue-reminders", DAY + timedelta(days=2)),
    ]


def test_a_failing_run_is_retried_with_back_off_and_later_days_wait(factory):
    body = Recorder(fail_times=1)
    scheduler = Scheduler([job_of(body)], factory, settings(job_retry_seconds=2 * 86400))
    with clock.frozen_at(at(DAY, 10)):
        [outcome] = scheduler.tick()
    assert outcome["status"] == FAILED
    [row] = rows(factory)
    assert row["status"] == FAILED and "base de données injoignable" in row["error"]
    # The next day has come but the failed day awaits its retry: nothing runs before it.
    with clock.frozen_at(at(DAY + timedelta(days=1), 6)):
        assert scheduler.tick() == []
    with clock.frozen_at(at(DAY + timedelta(days=2), 10, 1)):
        ran = scheduler.tick()
    assert [(r["as_of"], r["status"]) for r in ran] == [
        (DAY, SUCCEEDED),
        (DAY + timedelta(days=1), SUCCEEDED),
        (DAY + timedelta(days=2), SUCCEEDED),
    ]
    assert rows(factory)[0]["attempts"] == 2


def test_after_the_last_attempt_the_run_is_abandoned_and_the_next_days_go_on(factory):
    body = Recorder(fail_times=10)
    scheduler = Scheduler([job_of(body)], factory, settings(job_max_attempts=2))
    with clock.frozen_at(at(DAY, 10)):
        scheduler.tick()
    with clock.frozen_at(at(DAY, 10, 5)):  # the 60 s back-off has passed
        [outcome] = scheduler.tick()
    assert outcome["status"] == ABANDONED
    body.fail_times = 0
    with clock.frozen_at(at(DAY + timedelta(days=1), 10)):
        [outcome] = scheduler.tick()
    assert (outcome["as_of"], outcome["status"]) == (DAY + timedelta(days=1), SUCCEEDED)
    ledger = JobLedger(factory, settings())
    assert ledger.retry("invoicing", DAY)
    with clock.frozen_at(at(DAY + timedelta(days=1), 10, 1)):
        [outcome] = scheduler.tick()
    assert (outcome["as_of"], outcome["status"]) == (DAY, SUCCEEDED)


def test_a_run_held_by_a_live_replica_is_left_and_a_crashed_one_taken_over(factory):
    body = Recorder()
    job = job_of(body)
    ledger = JobLedger(factory, settings(job_lease_seconds=600))
    with clock.frozen_at(at(DAY, 10)):
        assert ledger.claim(job, DAY, None, clock.now()) is not None  # a replica that dies
        assert ledger.claim(job, DAY, None, clock.now()) is None  # the unique key
        scheduler = Scheduler([job], factory, settings(job_lease_seconds=600))
        assert scheduler.tick() == []
    with clock.frozen_at(at(DAY, 10, 11)):  # lease run out
        [outcome] = scheduler.tick()
    assert (outcome["as_of"], outcome["status"]) == (DAY, SUCCEEDED)
    [row] = rows(factory)
    assert (row["status"], row["attempts"]) == (SUCCEEDED, 2)


def test_two_replicas_ticking_together_run_each_day_once(factory):
    calls = []
    lock = threading.Lock()

    def body(as_of: date) -> dict:
        with lock:
            calls.append(as_of)
        return {}

    job = job_of(body)
    with clock.frozen_at(at(DAY, 10)):
        Scheduler([job], factory, settings()).tick()
    replicas = [Scheduler([job], factory, settings()) for _ in range(2)]
    with clock.frozen_at(at(DAY + timedelta(days=20), 10)):
        threads = [threading.Thread(target=r.tick) for r in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(calls) == [DAY + timedelta(days=n) for n in range(21)]
    assert all(r["status"] == SUCCEEDED for r in rows(factory))


def test_job_times_can_be_overridden():
    job = job_of(Recorder(), "invoicing", 5)
    assert job.time_of_day(settings(job_times="invoicing=06:30, plan-deadlines=00:10")) == time(
        6, 30
    )
    assert job.time_of_day(settings()) == time(5, 0)


def test_the_pinned_clock_belongs_to_the_job_alone():
    seen = {}
    pinned = threading.Event()
    release = threading.Event()

    def job_thread():
        with clock.pinned_at(datetime(2030, 1, 1, tzinfo=UTC)):
            seen["job"] = clock.today()
            pinned.set()
            release.wait(5)

    thread = threading.Thread(target=job_thread)
    thread.start()
    pinned.wait(5)
    seen["other"] = clock.today()
    release.set()
    thread.join()
    assert seen["job"] == date(2029, 12, 31)  # midnight UTC is the evening before in Montréal
    assert seen["other"] != date(2029, 12, 31)


def test_the_clock_file_moves_the_platform_and_time_runs_on_from_there(tmp_path, monkeypatch):
    from rac_shared.clock import Clock

    path = tmp_path / "clock"
    monkeypatch.setenv("RAC_CLOCK_FILE", str(path))
    monkeypatch.delenv("RAC_FROZEN_NOW", raising=False)
    moved = Clock()
    assert abs((moved.now() - datetime.now(UTC)).total_seconds()) < 60  # no file yet: real time
    set_clock_file(path, at(DAY, 0, 10))
    first = moved.now()
    assert first >= at(DAY, 0, 10) and first - at(DAY, 0, 10) < timedelta(minutes=1)
    assert moved.now() >= first
    set_clock_file(path, at(DAY + timedelta(days=3), 9))
    assert moved.today() == DAY + timedelta(days=3)


def test_a_ledger_row_left_running_shows_in_status(factory):
    job = job_of(Recorder())
    ledger = JobLedger(factory, settings())
    with clock.frozen_at(at(DAY, 10)):
        ledger.claim(job, DAY, None, clock.now())
        status = ledger.status(job, clock.now())
    assert status["last"]["status"] == RUNNING
    assert status["next_as_of"] == DAY.isoformat()
    with clock.frozen_at(at(DAY, 11)):
        Scheduler([job], factory, settings(job_lease_seconds=60)).tick()
        status = ledger.status(job, clock.now())
    assert status["last"]["status"] == SUCCEEDED
    assert status["next_as_of"] == (DAY + timedelta(days=1)).isoformat()
    assert status["next_at"] == "2027-03-09T05:00-05:00"

"""The retention rule's dates and what anonymisation keeps (services/plans/retention.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.plans.models import Plan, PlanVersion
from services.plans.retention import (
    anonymised_content,
    ended_on,
    purge_due_on,
)


def plan(status: str, **fields) -> Plan:
    versions = fields.pop("versions", [])
    result = Plan(status=status, **fields)
    result.versions = versions
    return result


def test_a_plan_ends_when_completed_cancelled_lapsed_or_declined_and_not_before():
    assert ended_on(plan("completed", completed_on=date(2026, 6, 30))) == date(2026, 6, 30)
    assert ended_on(plan("cancelled", cancelled_on=date(2026, 2, 3))) == date(2026, 2, 3)
    lapsed = [PlanVersion(number=1, lapsed_on=date(2025, 3, 1))]
    assert ended_on(plan("lapsed", versions=lapsed)) == date(2025, 3, 1)
    # Declined at 1 a.m. UTC on 1 April: still 31 March in Montréal.
    declined = [PlanVersion(number=1, declined_at=datetime(2025, 4, 1, 1, 0, tzinfo=UTC))]
    assert ended_on(plan("declined", versions=declined)) == date(2025, 3, 31)
    for running in ("draft", "issued", "accepted"):
        assert ended_on(plan(running)) is None
        assert purge_due_on(plan(running), 24) is None


def test_the_retention_period_counts_calendar_months():
    assert purge_due_on(plan("cancelled", cancelled_on=date(2026, 11, 20)), 24) == date(
        2028, 11, 20
    )
    # The last day of a shorter month, not the day after it.
    assert purge_due_on(plan("completed", completed_on=date(2024, 2, 29)), 12) == date(2025, 2, 28)


@pytest.mark.parametrize("value, months", [(None, 24), ("36", 36), (" 6 ", 6)])
def test_the_setting_is_whole_months_with_two_years_by_default(monkeypatch, value, months):
    from services.plans.config import PlansSettings

    if value is None:
        monkeypatch.delenv("PLAN_RETENTION_MONTHS", raising=False)
    else:
        monkeypatch.setenv("PLAN_RETENTION_MONTHS", value)
    assert PlansSettings().retention_months == months


@pytest.mark.parametrize("value", ["0", "deux", "-3"])
def test_a_malformed_retention_setting_is_refused_not_ignored(monkeypatch, value):
    from pydantic import ValidationError

    from services.plans.config import PlansSettings

    monkeypatch.setenv("PLAN_RETENTION_MONTHS", value)
    with pytest.raises(ValidationError):
        PlansSettings()


def test_anonymisation_removes_identity_and_keeps_what_the_figures_need():
    content = {
        "candidates": [
            {
                "id": 7,
                "full_name": "Émilie Bédard",
                "job_title": "Préposée aux bénéficiaires",
                "email": "emilie.bedard@exemple.quebec",
                "rhythm": 3,
                "start_date": "2026-10-05",
                "modality": "in_person",
            }
        ],
        "employer": {"name": "CISSS de Chaudière-Appalaches"},
    }
    result = anonymised_content(content)
    assert result["candidates"] == [
        {
            "id": 7,
            "full_name": "Personne candidate 1",
            "job_title": "",
            "email": "personne-1@anonyme.invalid",
            "rhythm": 3,
            "start_date": "2026-10-05",
            "modality": "in_person",
        }
    ]
    assert result["employer"] == content["employer"]
    assert content["candidates"][0]["full_name"] == "Émilie Bédard"  # a copy, not in place

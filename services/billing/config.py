"""Settings of the billing service (environment variables prefixed ``BILLING_``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    # Days late at which ``invoice.overdue`` is published, once each (e.g. "7,30").
    reminder_steps: str = "7,30"
    # Installments claimed and invoiced per transaction by the invoicing job.
    invoicing_batch_size: int = 200
    # Yearly operating cap of a CERAC, dated: "effective_from:amount" pairs, the cap of a
    # fiscal year being the one in force on its first day (April 1). A new cap is a new pair,
    # e.g. "2013-04-01:250000,2027-04-01:275000" (BILLING_FUNDING_OPERATING_CAPS).
    funding_operating_caps: str = "2013-04-01:250000"
    # Installments generated for an operating allocation (over the fiscal year) and for an
    # approved development project (over its period); the ministry edits them before payment.
    funding_allocation_installments: int = 4
    funding_project_installments: int = 2

    @field_validator("reminder_steps")
    @classmethod
    def _steps(cls, value: str) -> str:
        steps = [int(part) for part in value.replace(" ", "").split(",") if part]
        if not steps or any(step <= 0 for step in steps):
            raise ValueError("BILLING_REMINDER_STEPS: positive numbers of days, e.g. 7,30")
        return ",".join(str(step) for step in sorted(set(steps)))

    @field_validator("funding_operating_caps")
    @classmethod
    def _caps(cls, value: str) -> str:
        parse_caps(value)
        return value

    @field_validator("funding_allocation_installments", "funding_project_installments")
    @classmethod
    def _installments(cls, value: int) -> int:
        if not 1 <= value <= 12:
            raise ValueError("BILLING_FUNDING_*_INSTALLMENTS: between 1 and 12")
        return value

    @property
    def operating_caps(self) -> list[tuple[date, Decimal]]:
        return parse_caps(self.funding_operating_caps)

    @property
    def steps(self) -> list[int]:
        return [int(step) for step in self.reminder_steps.split(",")]


def parse_caps(value: str) -> list[tuple[date, Decimal]]:
    """``"2013-04-01:250000,2027-04-01:275000"`` → [(date, Decimal)], oldest first."""
    caps: dict[date, Decimal] = {}
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        since, _, amount = part.partition(":")
        try:
            day, cap = date.fromisoformat(since), Decimal(amount)
        except (ValueError, InvalidOperation):
            raise ValueError(
                "BILLING_FUNDING_OPERATING_CAPS: AAAA-MM-JJ:montant pairs, e.g. 2013-04-01:250000"
            ) from None
        if not cap.is_finite() or cap < 0:
            raise ValueError("BILLING_FUNDING_OPERATING_CAPS: amounts must be positive")
        caps[day] = cap
    if not caps:
        raise ValueError("BILLING_FUNDING_OPERATING_CAPS: at least one dated cap")
    return sorted(caps.items())


@lru_cache
def billing_settings() -> BillingSettings:
    return BillingSettings()

"""Settings of the plans service (environment variables prefixed ``PLAN_``), read once by
pydantic-settings: a malformed value stops the service at its first use, with its name,
instead of being ignored."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.plans.deadlines import ACCEPTANCE_DAYS


class PlansSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAN_", extra="ignore")

    # Days before an offer's acceptance deadline at which the employer is reminded, once
    # each (PLAN_REMINDER_DAYS, e.g. "10,3,1"): each fewer than the 30 days of the offer.
    reminder_days: str = "10,3,1"
    # Whole months after a plan ended (completed, cancelled, lapsed, or its first offer
    # declined) before the retention rule anonymises its candidate-workers
    # (PLAN_RETENTION_MONTHS; 24: two years).
    retention_months: int = Field(24, ge=1)

    @field_validator("reminder_days")
    @classmethod
    def _reminder_days(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(p.isdigit() and 0 < int(p) < ACCEPTANCE_DAYS for p in parts):
            raise ValueError(
                f"PLAN_REMINDER_DAYS: days between 1 and {ACCEPTANCE_DAYS - 1}, e.g. 10,3,1"
            )
        return ",".join(parts)

    @property
    def reminders(self) -> tuple[int, ...]:
        """The reminder days, largest first."""
        return tuple(sorted({int(p) for p in self.reminder_days.split(",")}, reverse=True))


@lru_cache
def plans_settings() -> PlansSettings:
    return PlansSettings()

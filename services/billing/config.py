"""Settings of the billing service (environment variables prefixed ``BILLING_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", extra="ignore")

    # Days late at which ``invoice.overdue`` is published, once each (e.g. "7,30").
    reminder_steps: str = "7,30"
    # Installments claimed and invoiced per transaction by the invoicing job.
    invoicing_batch_size: int = 200

    @field_validator("reminder_steps")
    @classmethod
    def _steps(cls, value: str) -> str:
        steps = [int(part) for part in value.replace(" ", "").split(",") if part]
        if not steps or any(step <= 0 for step in steps):
            raise ValueError("BILLING_REMINDER_STEPS: positive numbers of days, e.g. 7,30")
        return ",".join(str(step) for step in sorted(set(steps)))

    @property
    def steps(self) -> list[int]:
        return [int(step) for step in self.reminder_steps.split(",")]


@lru_cache
def billing_settings() -> BillingSettings:
    return BillingSettings()

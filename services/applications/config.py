"""Settings of the applications service (environment variables prefixed ``APPLICATIONS_``),
read once by pydantic-settings: a malformed value is named at its first use, not ignored."""

from __future__ import annotations

from functools import lru_cache

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApplicationsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APPLICATIONS_", extra="ignore")

    # Days before a CERAC's annual report is due at which its reminder is sent, once each
    # (« j-30 », « j-7 »; APPLICATIONS_REPORT_REMINDER_DAYS, e.g. "30,7"). A late report
    # gets its own reminder (« late ») the day after.
    report_reminder_days: str = "30,7"

    @field_validator("report_reminder_days")
    @classmethod
    def _days(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts or not all(p.isdigit() and 0 < int(p) <= 365 for p in parts):
            raise ValueError("APPLICATIONS_REPORT_REMINDER_DAYS: days between 1 and 365, e.g. 30,7")
        return ",".join(parts)

    @property
    def report_reminder_steps(self) -> tuple[tuple[str, int], ...]:
        """(step, days before the due date), farthest first: (("j-30", 30), ("j-7", 7))."""
        days = sorted({int(p) for p in self.report_reminder_days.split(",")}, reverse=True)
        return tuple((f"j-{d}", d) for d in days)


@lru_cache
def applications_settings() -> ApplicationsSettings:
    return ApplicationsSettings()

"""Scheduling settings (``KETACARE_SCHED_*``), turned into the domain's :class:`FloorRules`.

Every duration is in minutes; values marked [U] in docs/scheduling.md are clinic policy.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from ketacare.domain.course.booking import ChairTime, FloorRules


class SchedulingSettings(BaseSettings):
    """Floor rules and reminder times of the scheduling feature."""

    model_config = SettingsConfigDict(
        env_prefix="KETACARE_SCHED_", env_file=".env", extra="ignore", frozen=True
    )

    iv_setup_min: int = 15
    iv_infusion_min: int = 40
    iv_recovery_min: int = 60
    esk_setup_min: int = 15
    esk_administration_min: int = 15
    esk_monitoring_min: int = 120
    turnover_min: int = 10
    nurse_ratio: int = 3
    step_min: int = 15
    #: Hours before a booking at which reminders are sent (comma-separated).
    reminder_hours: str = "48,24"
    #: Reminder delivery: console (log only), smtp (e-mail; SMS through the webhook), webhook.
    notifier: str = "console"
    #: URL that receives reminders as JSON POSTs (SMS gateway or relay); empty: none.
    webhook_url: str = ""
    #: Days a course session may move after its plan day before the course is refused [U].
    max_delay_days: int = 3

    def rules(self) -> FloorRules:
        """The domain rules these settings describe (raises DomainError when out of range)."""
        return FloorRules(
            iv=ChairTime(
                self.iv_setup_min, self.iv_infusion_min, self.iv_recovery_min, self.turnover_min
            ),
            esketamine=ChairTime(
                self.esk_setup_min,
                self.esk_administration_min,
                self.esk_monitoring_min,
                self.turnover_min,
            ),
            nurse_ratio=self.nurse_ratio,
            step_min=self.step_min,
        )

    def reminder_offsets(self) -> tuple[int, ...]:
        """Reminder offsets in hours before the booking, largest first."""
        hours = {int(part) for part in self.reminder_hours.split(",") if part.strip()}
        return tuple(sorted((h for h in hours if 0 < h <= 24 * 14), reverse=True))


@lru_cache(maxsize=1)
def scheduling_settings() -> SchedulingSettings:
    """The process's scheduling settings (read once)."""
    return SchedulingSettings()

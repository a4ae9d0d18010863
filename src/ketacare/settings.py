"""Settings, read once from ``KETACARE_*`` environment variables (and ``.env``) then frozen."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CRISIS_TEXT = (
    "If you are thinking about suicide or hurting yourself, or are in crisis, help is available "
    "now. In the US call or text 988 (the 988 Suicide & Crisis Lifeline), or chat at "
    "988lifeline.org. If you are in immediate danger, call 911 or go to the nearest emergency "
    "department."
)

#: Which score the ``worsening.mcid`` alert measures change from (docs/measurement-based-care.md).
OutcomeBaseline = Literal["before_first_dose", "earliest"]


class Settings(BaseSettings):
    """Everything ketacare reads from its environment; see ``ketacare config show``."""

    model_config = SettingsConfigDict(
        env_prefix="KETACARE_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Field(Path("var"), description="Directory for the SQLite file and secrets.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; default sqlite:///<data_dir>/ketacare.db."
    )
    secret_key: SecretStr = Field(
        SecretStr(""), description="HMAC key for tokens; generated under data_dir if empty."
    )
    audit_key: SecretStr = Field(
        SecretStr(""),
        description="HMAC key of the audit chain (keep it outside the database and its "
        "backups); generated under data_dir if empty.",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    clinic_name: str = Field("Demo Ketamine Clinic", description="Name of the public clinic.")
    timezone: str = Field(
        "UTC",
        description="IANA time zone pages, PDFs, CSV and calendars show (and forms accept) for "
        "clinics without their own (ketacare clinic set-timezone); times are stored in UTC.",
    )
    session_start_time: str = Field(
        "09:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="Clinic-time start (HH:MM) of planned sessions in calendar (.ics) files.",
    )
    session_duration_min: int = Field(
        120, ge=15, le=720, description="Length of a planned session in calendar files."
    )
    public_clinic: str = Field(
        "demo", description="Slug of the clinic that owns the public self-screen and its leads."
    )
    crisis_text: str = DEFAULT_CRISIS_TEXT
    session_max_age_hours: float = Field(12.0, gt=0, description="Absolute session lifetime.")
    session_idle_minutes: float = Field(30.0, gt=0, description="Idle timeout of a login session.")
    secure_cookies: bool = Field(False, description="Set the Secure flag (enable behind TLS).")
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For/-Proto are believed; empty (default) = none, the peer is the client.",
    )
    login_rate_limit: int = Field(
        20, ge=0, description="Failed logins from one address before it waits (back-off); 0 = off."
    )
    login_rate_window_s: int = Field(
        900, ge=1, description="Failed logins are forgotten after this long without one."
    )
    lockout_threshold: int = Field(
        5, ge=1, description="Failed logins for one email from one address before that pair waits."
    )
    lockout_base_s: int = Field(60, ge=1, description="First wait; doubles per further failure.")
    lockout_max_s: int = Field(3600, ge=1, description="Longest wait.")
    public_rate_limit: int = Field(
        60, ge=0, description="Public submissions (screenings, leads) per window per IP; 0 = off."
    )
    public_rate_window_s: int = Field(60, ge=1)
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted request body.")
    worker_concurrency: int = Field(
        6,
        ge=1,
        le=1024,
        description="Requests one worker process works on at once; more wait in its event loop "
        "before they touch the database. Without a limit a burst starts every request at once "
        "and the worker falls seconds behind (benchmarks/README.md, issue 15.2b).",
    )
    worker_live_concurrency: int = Field(
        2,
        ge=0,
        le=64,
        description="Requests of live views (the chair board's poll) one worker process works "
        "on at once beside worker_concurrency, in a lane of their own so that the floor's "
        "board never waits behind the queue (issue 17); 0 = they wait with the rest.",
    )
    # Measurement-based care (features/assessments; docs/measurement-based-care.md).
    public_url: str = Field(
        "",
        description="Base URL patients reach, used in assessment links; default: the served "
        "address http://<host>:<port> (set it behind a proxy or when patients use another name).",
    )
    console_show_links: bool = Field(
        False,
        description="Console notifier: print working one-time links (default: redacted; staff "
        "see and copy a fresh link on the patient's page).",
    )
    assessment_link_hours: float = Field(
        72.0, gt=0, description="Lifetime of a one-time assessment link (ketacare default)."
    )
    assessment_session_lead_hours: float = Field(
        24.0, ge=0, description="'Before each session' links fall due this long before it."
    )
    alert_escalate_minutes: float = Field(
        60.0,
        gt=0,
        description="Unacknowledged alerts escalate to clinic admins after this long "
        "(ketacare default, not a published standard [U]; set per clinic policy).",
    )
    outcome_baseline: OutcomeBaseline = Field(
        "before_first_dose",
        description="Alert baseline: the last score at or before the first dose (the earliest "
        "when there is none), or the earliest score (ketacare default [U]; review).",
    )
    periodic_interval_s: float = Field(
        60.0, ge=0, description="Link dispatch and escalation check in the app; 0 = off (cron)."
    )
    notifier: Literal["console", "smtp"] = Field(
        "console", description="How links and escalations are sent: console (log) or smtp."
    )
    smtp_host: str = Field("localhost", description="SMTP server host.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_user: str = Field("", description="SMTP login (empty: no login).")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password.")
    smtp_from: str = Field("ketacare@localhost", description="From address of sent mail.")
    smtp_tls: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls, ssl (implicit TLS) or none (local relay only)."
    )
    smtp_timeout_s: float = Field(10.0, gt=0, description="SMTP connection timeout.")
    # Intake eligibility (features/intake; docs/intake.md §3).
    intake_bp_max_age_days: int | None = Field(
        30,
        ge=0,
        description="Intake eligibility: an intake BP older than this many days (or undated) "
        "makes the BP criterion unknown (ketacare default [U]; empty = any age).",
    )
    # Treatment sessions (features/sessions; docs/sessions.md). [U]: ketacare default.
    session_iv_bp_systolic: int | None = Field(
        140, description="IV/IM: pre-dose SBP above this needs a clinician's decision [U]."
    )
    session_iv_bp_diastolic: int | None = Field(
        90, description="IV/IM: pre-dose DBP above this needs a clinician's decision [U]."
    )
    session_flag_systolic: int = Field(180, gt=0, description="Flag SBP at or above [U].")
    session_flag_diastolic: int = Field(110, gt=0, description="Flag DBP at or above [U].")
    session_rise_systolic: int = Field(40, gt=0, description="Flag SBP rise from pre-dose.")
    session_rise_diastolic: int = Field(25, gt=0, description="Flag DBP rise from pre-dose.")
    session_spo2_min: int = Field(92, ge=50, le=100, description="Flag SpO2 below [U].")
    session_iv_discharge_after_end_min: int = Field(
        30, ge=0, description="IV/IM discharge: minutes since the end of dosing [U]."
    )
    session_iv_discharge_moaas: int = Field(
        5, ge=0, le=5, description="IV/IM discharge: MOAA/S at least [U]."
    )
    session_iv_near_baseline_systolic: int = Field(
        20, ge=0, description="IV/IM discharge: SBP at most this above pre-dose [U]."
    )
    session_iv_near_baseline_diastolic: int = Field(
        10, ge=0, description="IV/IM discharge: DBP at most this above pre-dose [U]."
    )
    session_cadss_resolved_margin: int = Field(
        0, ge=0, description="Dissociation resolved: CADSS at most pre-dose + this [U]."
    )
    session_rr_min: int = Field(10, ge=1, le=80, description="Flag respiratory rate below [U].")
    session_rr_max: int = Field(24, ge=1, le=80, description="Flag respiratory rate above [U].")
    session_esk_recheck_window_min: int = Field(
        10,
        ge=1,
        le=30,
        description="Esketamine ~40-min BP: reminder and REMS field take a reading this close [U].",
    )
    session_link_window_days: int = Field(
        1,
        ge=0,
        le=30,
        description="A new session links itself to a planned session this many days away [U].",
    )
    session_refresh_seconds: int = Field(
        30, ge=1, le=600, description="Session page: reminders and countdown refresh period."
    )
    session_pregnancy_test_ages: str = Field(
        "12-55", description="Pregnancy test applies to female patients of these ages [U]."
    )
    rems_deadline_days: int = Field(
        7, ge=1, description="REMS Patient Monitoring Form due this many days after the session."
    )
    rems_setting_address: str = Field(
        "", description="Address of the healthcare setting, prefilled on REMS forms."
    )
    rems_gate_enforced: bool = Field(
        True,
        description="Esketamine sessions need a certified setting, an enrolled patient and a "
        "prescriber on site (docs/rems.md).",
    )
    rems_require_prescriber: bool = Field(
        True, description="The REMS gate asks for a prescriber attested on site (docs/rems.md)."
    )
    rems_fax_dir: str = Field(
        "", description="File-drop directory of the PMF fax adapter (empty: no fax channel)."
    )
    rems_fax_number: str = Field("", description="Fax number the PMF is sent to (REMS).")
    rems_enrolment_by_hand: bool = Field(
        False,
        description="Allow recording a REMS enrolment without the signed enrolment form (a paper "
        "form kept elsewhere) through the API; off: only the countersigned form enrols "
        "(docs/rems.md).",
    )
    consent_required: bool = Field(
        True,
        description="A session needs a valid signed consent covering its route (docs/consent.md).",
    )
    consent_reconsent_on_protocol_change: bool = Field(
        True,
        description="A consent given for another protocol (or version) than the active plan's "
        "must be signed again [U] (docs/consent.md).",
    )
    # Patient portal (features/portal; docs/portal.md). [U]: ketacare default.
    portal_link_minutes: float = Field(
        15.0, gt=0, le=1440, description="Lifetime of an e-mailed patient sign-in link [U]."
    )
    portal_rate_limit: int = Field(
        10, ge=0, description="Patient sign-in requests per window per address; 0 = off [U]."
    )
    portal_email_rate_limit: int = Field(
        3, ge=0, description="Patient sign-in requests per window per e-mail typed; 0 = off [U]."
    )
    portal_rate_window_s: int = Field(900, ge=1, description="Window of the two limits above.")
    # E-mailed staff password reset (features/admin/reset.py; issue 21.8). [U]: ketacare default.
    password_reset_minutes: float = Field(
        30.0, gt=0, le=1440, description="Lifetime of an e-mailed password reset link [U]."
    )
    password_reset_rate_limit: int = Field(
        10, ge=0, description="Password reset requests per window per address; 0 = off [U]."
    )
    password_reset_email_rate_limit: int = Field(
        3, ge=0, description="Password reset requests per window per e-mail typed; 0 = off [U]."
    )
    password_reset_rate_window_s: int = Field(
        900, ge=1, description="Window of the two password reset limits above."
    )
    portal_crisis_days: int = Field(
        14,
        ge=1,
        le=365,
        description="The portal shows the crisis panel when an answer this recent calls for it "
        "(PHQ-9 item 9 above 0) [U].",
    )
    clinic_contact: str = Field(
        "",
        description="How patients reach the clinic (phone, e-mail, hours), shown in the patient "
        "portal; empty: a generic line.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            return ZoneInfo(value.strip()).key
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.public_url.strip():
            host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
            host = f"[{host}]" if ":" in host else host
            object.__setattr__(self, "public_url", f"http://{host}:{self.port}")
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{(self.data_dir / 'ketacare.db').as_posix()}"
            )
        if not self.secret_key.get_secret_value():
            object.__setattr__(self, "secret_key", SecretStr(_stored_secret(self.data_dir)))
        if not self.audit_key.get_secret_value():
            key = _stored_secret(self.data_dir, "audit_key")
            object.__setattr__(self, "audit_key", SecretStr(key))
        return self

    def masked(self) -> dict[str, str]:
        """All settings as strings, with secrets and database passwords masked."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "**********"
            elif name == "database_url":
                out[name] = _mask_url(str(value))
            else:
                out[name] = str(value)
        return out


def _mask_url(url: str) -> str:
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def _stored_secret(data_dir: Path, name: str = "secret_key") -> str:
    """Read a key kept under ``data_dir``, creating it (mode 600, directory 700) on first run."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()

"""The clinic's session-safety configuration, read from the settings (no request, no I/O)."""

from __future__ import annotations

from ketacare.domain.sessions.safety import SafetyConfig
from ketacare.settings import Settings


def safety_config(settings: Settings) -> SafetyConfig:
    """The clinic's session-safety configuration from the settings."""
    return SafetyConfig(
        iv_bp_systolic=settings.session_iv_bp_systolic,
        iv_bp_diastolic=settings.session_iv_bp_diastolic,
        flag_systolic=settings.session_flag_systolic,
        flag_diastolic=settings.session_flag_diastolic,
        rise_systolic=settings.session_rise_systolic,
        rise_diastolic=settings.session_rise_diastolic,
        spo2_min=settings.session_spo2_min,
        iv_discharge_after_end_min=settings.session_iv_discharge_after_end_min,
        iv_discharge_moaas=settings.session_iv_discharge_moaas,
        iv_near_baseline_systolic=settings.session_iv_near_baseline_systolic,
        iv_near_baseline_diastolic=settings.session_iv_near_baseline_diastolic,
        cadss_resolved_margin=settings.session_cadss_resolved_margin,
        rr_min=settings.session_rr_min,
        rr_max=settings.session_rr_max,
        esk_recheck_window_min=settings.session_esk_recheck_window_min,
    )

"""Dose schedules of the treatment protocols, for PK simulation only.

A small pure mapping so the PK engine does not depend on the protocol data files
(``ketacare.domain.course.protocols``). Times are minutes from the first dose; sessions are given at
the same clock time on the stated days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ketacare.domain.errors import DomainError
from ketacare.domain.pk.regimen import Dose, iv_infusion, nasal_spray

__all__ = ["PK_PROTOCOLS", "PKProtocol", "get_protocol"]

DAY_MIN = 1440.0


@dataclass(frozen=True, slots=True)
class PKProtocol:
    """A named dose schedule.

    Attributes
    ----------
    key : str
        Protocol id, e.g. ``"iv-ketamine-induction"``.
    description : str
        Plain-language schedule.
    doses : tuple of Dose
        The doses (minutes from the first dose).
    end_min : float
        End of the exposure window used for cohort metrics (24 h after the last dose), minutes.
    """

    key: str
    description: str
    doses: tuple[Dose, ...]
    end_min: float


def _protocol(key: str, description: str, days: tuple[int, ...], doses: list[Dose]) -> PKProtocol:
    shifted = tuple(d.shifted(day * DAY_MIN) for day, d in zip(days, doses, strict=True))
    return PKProtocol(key, description, shifted, days[-1] * DAY_MIN + DAY_MIN)


_IV_DAYS = (0, 2, 4, 7, 9, 11)  # Mon/Wed/Fri for two weeks
_ESK_DAYS = (0, 3, 7, 10, 14, 17, 21, 24)  # Mon/Thu for four weeks

PK_PROTOCOLS: Mapping[str, PKProtocol] = {
    p.key: p
    for p in (
        _protocol(
            "iv-ketamine-induction",
            "Racemic ketamine 0.5 mg/kg IV over 40 min, 6 sessions Mon/Wed/Fri over 2 weeks "
            "(days 0, 2, 4, 7, 9, 11).",
            _IV_DAYS,
            [iv_infusion(mg_per_kg=0.5, minutes=40.0) for _ in _IV_DAYS],
        ),
        _protocol(
            "esketamine-trd",
            "Esketamine nasal spray induction, twice weekly for 4 weeks (days 0, 3, 7, 10, 14, "
            "17, 21, 24): 56 mg on day 0, then 84 mg; devices 5 min apart.",
            _ESK_DAYS,
            [nasal_spray(56.0, device_interval_min=5.0)]
            + [nasal_spray(84.0, device_interval_min=5.0) for _ in _ESK_DAYS[1:]],
        ),
    )
}


def get_protocol(key: str) -> PKProtocol:
    """Look a protocol up by id; :class:`DomainError` names the known ids otherwise."""
    try:
        return PK_PROTOCOLS[key]
    except KeyError:
        known = ", ".join(PK_PROTOCOLS)
        raise DomainError(f"unknown protocol {key!r} (known: {known})") from None

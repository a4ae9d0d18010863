"""Settings of controlled-substance records (``KETACARE_CS_*``; docs/controlled-substances.md)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ketacare.features.auth.models import STAFF_ROLES, Role


def _roles(value: str) -> frozenset[Role]:
    names = [p.strip() for p in value.split(",") if p.strip()]
    try:
        roles = frozenset(Role(n) for n in names)
    except ValueError as exc:
        raise ValueError(f"roles must be among admin, clinician, nurse: {value!r}") from exc
    if not roles or not roles <= STAFF_ROLES:
        raise ValueError(f"roles must be among admin, clinician, nurse: {value!r}")
    return roles


class CsSettings(BaseSettings):
    """Who may do what with controlled substances, witness rules and retention."""

    model_config = SettingsConfigDict(
        env_prefix="KETACARE_CS_", env_file=".env", extra="ignore", frozen=True
    )

    waste_witness_required: bool = Field(
        True, description="Waste needs a witness who re-authenticates (state rules) [S]."
    )
    receive_roles: str = Field("clinician,nurse", description="Roles that may receive stock.")
    administer_roles: str = Field(
        "clinician,nurse", description="Roles that may draw, administer, waste and return."
    )
    witness_roles: str = Field("clinician,nurse", description="Roles that may witness.")
    manage_roles: str = Field(
        "admin,clinician",
        description="Roles that may add registrations, take inventories, dispose, transfer "
        "and manage discrepancy cases.",
    )
    retention_years: int = Field(
        2, ge=2, le=100, description="Years records stay retrievable (21 CFR 1304.04: >= 2)."
    )

    @field_validator("receive_roles", "administer_roles", "witness_roles", "manage_roles")
    @classmethod
    def _valid_roles(cls, value: str) -> str:
        _roles(value)
        return value

    def roles(self, what: str) -> frozenset[Role]:
        """The roles configured for ``what`` (receive, administer, witness, manage)."""
        value: str = getattr(self, f"{what}_roles")
        return _roles(value)


@lru_cache(maxsize=1)
def get_cs_settings() -> CsSettings:
    """The settings from the environment (read once)."""
    return CsSettings()

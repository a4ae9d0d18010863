"""assessments, schedules, links and alerts (issue 3)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Reserved in the chain; the feature's tables are added here."""


def downgrade() -> None:
    """Reserved in the chain."""

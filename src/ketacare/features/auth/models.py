"""Users and their login/API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketacare.db.base import Base, UTCDateTime, utcnow

# Role lives apart from the tables (auth/roles.py) for the CLI's light imports; re-exported.
from ketacare.features.auth.roles import STAFF_ROLES as STAFF_ROLES
from ketacare.features.auth.roles import Role as Role
from ketacare.features.clinics.models import Clinic


class TokenKind(enum.StrEnum):
    """A browser login session or a personal API token."""

    session = "session"
    api = "api"


class User(Base):
    """An account. Email is unique across the installation."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The name letters are signed with (admin users page); empty: the email is shown.
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")

    clinic: Mapped[Clinic] = relationship(lazy="raise")

    @property
    def is_staff(self) -> bool:
        """Admins, clinicians and nurses."""
        return self.role in STAFF_ROLES


class AuthToken(Base):
    """A login session or personal API token; only an HMAC-SHA256 of the token is stored."""

    __tablename__ = "auth_token"
    __table_args__ = (Index("ix_auth_token_user_kind", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[TokenKind] = mapped_column(Enum(TokenKind, native_enum=False, length=16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    user: Mapped[User] = relationship(lazy="raise")


class LoginFailure(Base):
    """Failed logins for one key: an HMAC of an address, or of an (email, address) pair.

    ``blocked_until`` is set once ``failures`` reaches the threshold, for a time that doubles
    with each further failure (back-off); the count starts again after a quiet window.
    Successful logins are never counted.
    """

    __tablename__ = "login_failure"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

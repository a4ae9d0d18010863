"""Who acts: one ``Actor`` per request, CLI command or job, passed to services and the audit.

Routes get it from a dependency (``features/auth/deps.py``: ``PageActor``, ``ApiActor``, ...);
CLI commands build ``Actor.cli(clinic_id)``; jobs ``Actor.job(name, clinic_id)``; a patient's
one-time link ``Actor.anonymous("link", client)``. Services take ``actor`` (and ``now``) and
write their own audit events with ``audit.service.record(db, actor, ...)``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from ketacare.features.auth.models import User

#: Channels an event can come from.
CHANNELS = ("page", "api", "fhir", "cli", "job", "link", "public")


def os_user() -> str:
    """The operating-system user running a CLI command, as the audit log names it."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = "unknown"
    return f"os:{name}"[:320]


@dataclass(frozen=True, slots=True)
class Actor:
    """A user (or a named non-user: ``os:alice``, ``job:periodic``), a channel and a client.

    ``clinic_id`` is the clinic acted for: the user's, else the one a CLI command or a job
    names (None: the patient's clinic is used when the event is stored).
    """

    user: User | None
    channel: str = "page"
    client: str = ""
    name: str = ""
    clinic_id: int | None = None

    @classmethod
    def for_user(cls, user: User, channel: str, client: str = "") -> Actor:
        """A signed-in staff member or patient over ``channel`` from ``client``."""
        return cls(user=user, channel=channel, client=client, clinic_id=user.clinic_id)

    @classmethod
    def cli(cls, clinic_id: int | None = None) -> Actor:
        """The operating-system user running a CLI command (for ``clinic_id``, if one)."""
        return cls(user=None, channel="cli", name=os_user(), clinic_id=clinic_id)

    @classmethod
    def job(cls, name: str, clinic_id: int | None = None) -> Actor:
        """A background job (``job:<name>``)."""
        return cls(user=None, channel="job", name=f"job:{name}", clinic_id=clinic_id)

    @classmethod
    def anonymous(cls, channel: str, client: str = "") -> Actor:
        """No user: a patient's one-time link or the public self-screen."""
        return cls(user=None, channel=channel, client=client)

    @property
    def user_id(self) -> int | None:
        """The user's id (None for a non-user actor)."""
        return self.user.id if self.user is not None else None

    @property
    def label(self) -> str:
        """How the audit log names the actor: the user's e-mail, else ``name``."""
        return self.user.email if self.user is not None else self.name

"""Dashboard users and roles.

The dashboard keeps the signed-in user in ``st.session_state[SESSION_KEY]`` as a ``SignedInUser``.
"""

from __future__ import annotations

from dataclasses import dataclass

from repwatch.config import Role

SESSION_KEY = "repwatch_user"
ROLES: tuple[Role, ...] = ("viewer", "agent", "admin")


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who is using the dashboard, and what they may do."""

    username: str
    display_name: str | None
    role: Role

    @property
    def can_act(self) -> bool:
        """Agents and admins act on triage items; viewers only look."""
        return self.role in ("agent", "admin")

    @property
    def is_admin(self) -> bool:
        """Admins manage users and sources."""
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.display_name or self.username

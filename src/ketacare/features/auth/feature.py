"""Logins, users and API tokens."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="auth",
    routers=("ketacare.features.auth.pages:router",),
    commands={
        "user": Command("User accounts.", "ketacare.features.auth.cli:user_app"),
        "token": Command("Personal API tokens.", "ketacare.features.auth.cli:token_app"),
    },
)

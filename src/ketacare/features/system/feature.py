"""Operator commands: the server, backups, configuration and migrations."""

from ketacare.features.registry import Command, Feature

M = "ketacare.features.system"
FEATURE = Feature(
    name="system",
    commands={
        "serve": Command(
            "Start the web server (refuses to start when the database is not migrated).",
            f"{M}.cli:serve",
            group=False,
        ),
        "backup": Command(
            "Write a consistent online snapshot of the database (SQLite backup API or pg_dump).",
            f"{M}.cli:backup_command",
            group=False,
        ),
        "restore": Command(
            "Load a backup into an empty database (the configured KETACARE_DATABASE_URL).",
            f"{M}.cli:restore_command",
            group=False,
        ),
        "config": Command("Show the configuration.", f"{M}.cli:config_app"),
        "db": Command("Database migrations.", f"{M}.cli:db_app"),
    },
)

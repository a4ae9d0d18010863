"""Allow ``python -m ketacare``."""

from ketacare.cli import main

main()

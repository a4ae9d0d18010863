"""Operator commands and the demo clinic."""

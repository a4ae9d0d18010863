"""Pure clinical core: scoring, criteria, staging, dosing, PK and outcome rules.

Nothing here does I/O or imports the database or web layers (an import-linter contract
enforces it). Every rule carries its source.
"""

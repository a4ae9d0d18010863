"""Controlled-substance records (DEA Schedule III ketamine and esketamine)."""

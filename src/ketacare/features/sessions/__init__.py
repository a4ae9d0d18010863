"""Treatment session charting and safety (issue 5; docs/sessions.md)."""

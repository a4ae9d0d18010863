"""The patient chart summary (issue 21.1): the panels of ``/patients/{id}``.

This package sits high in the feature order (it reads sessions, assessments, intake,
scheduling, consent and REMS); the page itself is the patients feature's, which calls the
``chart_panels`` registry hook (``features/registry.py``) instead of importing this package.
"""

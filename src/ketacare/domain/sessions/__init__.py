"""Treatment-session rules: vital-sign safety, discharge readiness, the REMS monitoring form.

``safety`` (pre-dose and monitoring checks), ``discharge`` (release criteria) and ``rems``
(the SPRAVATO REMS Patient Monitoring Form). See ``docs/sessions.md``.
"""

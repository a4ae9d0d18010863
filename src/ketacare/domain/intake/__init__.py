"""Intake rules: the intake record, DSM-5 episode, TRD staging, eligibility, pathway, verdict.

``model`` (the intake record), ``json_file`` (the intake JSON file and its schema),
``antidepressants`` (drug names and classes), ``dsm5``, ``trd``, ``eligibility``, ``pathway``
and ``verdict`` (:func:`~ketacare.domain.intake.verdict.assess_intake`, all four in one call).
See ``docs/intake.md``.
"""

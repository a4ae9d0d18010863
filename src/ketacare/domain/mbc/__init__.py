"""Measurement-based care: the self-screen, outcomes per patient and alerts on new scores.

``screening`` (PHQ-9/GAD-7 self-screen), ``outcomes`` (baseline, response, remission, MCID,
RCI, relapse) and ``alerts`` (rules on a new score). Scoring itself lives in
:mod:`ketacare.domain.instruments`. See ``docs/measurement-based-care.md``.
"""

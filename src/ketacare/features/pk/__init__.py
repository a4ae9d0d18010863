"""PK feature: the predicted-concentration bands of a treatment plan and of one session's dose
(``plan.py``, drawn by the intake and session pages) and ``ketacare pk`` (``cli.py``), over
``ketacare.domain.pk``."""

"""The course of treatment: protocols, doses, the session schedule.

``protocols`` (versioned protocol definitions), ``dosing`` (IV mg/kg and esketamine device
steps), ``scheduling`` (planned sessions from a protocol) and ``consent`` (re-consent after a
protocol change). The course calendar file is built in ``features/intake/calendar.py``.
See ``docs/intake.md`` "Dosing" and "Schedule".
"""

"""The course of treatment: protocols, doses, the session schedule and its calendar file.

``protocols`` (versioned protocol definitions), ``dosing`` (IV mg/kg and esketamine device
steps), ``scheduling`` (planned sessions from a protocol), ``ics`` (RFC 5545 calendar) and
``consent`` (re-consent after a protocol change).
See ``docs/intake.md`` "Dosing" and "Schedule".
"""

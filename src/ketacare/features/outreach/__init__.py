"""Reaching patients and staff: assessment schedules and their one-time links, the overdue
list, the one notifier (mail, webhook, console) every message goes through, and the periodic
work (the claim-and-send loop of reminders and waitlist offers, the ``links-and-alerts`` job)."""

"""Patient and staff contact: the one notifier (mail, webhook, console) that assessment links,
alert escalations and appointment reminders are sent through."""

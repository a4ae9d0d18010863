"""Running the clinic from the browser: users, API tokens and clinic settings for admins, and
the printable letter to a patient's referring clinician (issue 21.8)."""

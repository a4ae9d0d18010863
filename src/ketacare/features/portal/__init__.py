"""The patient portal: sign-in by an e-mailed one-time link, and the patient's own page
(``/me``)."""

"""REMS operations: setting registry, enrolment, prescriber on site, PMF documents."""

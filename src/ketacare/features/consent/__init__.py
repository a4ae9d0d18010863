"""Consent: versioned templates per clinic, tablet signing, countersignature, revocation."""

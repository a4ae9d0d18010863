"""Billing rules: ``codes`` (which codes a signed session suggests, and why; the versioned code
table, payer policies, prior-authorisation alerts). See ``docs/billing.md``.
"""

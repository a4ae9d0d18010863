"""Regulatory compliance rules: the controlled-substance ledger and SPRAVATO REMS operations.

``controlled`` (container balances, events and their invariants, loss-report deadlines) and
``rems_ops`` (the esketamine session gate, PMF revisions and the PMF deadline). See
``docs/controlled-substances.md`` and ``docs/rems.md``.
"""

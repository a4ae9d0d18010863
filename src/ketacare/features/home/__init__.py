"""Role home pages (issue 21.2) and the header's nav badges (issue 21.8).

High in the feature order: it reads the other features' queries and audited services to
compose each role's first screen, and nothing imports it.
"""

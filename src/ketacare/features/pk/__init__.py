"""PK feature: command line (and, later, web) access to ``ketacare.domain.pk``."""

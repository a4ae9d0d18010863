"""ketacare: an open-source platform for ketamine and esketamine depression clinics."""

__version__ = "0.1.0"

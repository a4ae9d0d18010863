"""Patients of a clinic: the record every clinical feature hangs from."""

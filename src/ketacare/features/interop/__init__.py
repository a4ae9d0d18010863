"""FHIR R4 interoperability: export, import, the /fhir API and research CSV export."""

"""The statutory gate: which requests may proceed to matching, decided without any taxpayer data."""

"""Candidate pairs between subjects and the filings' address records, scored by a Fellegi-Sunter model."""  # noqa: E501

"""One decision per subject from its candidate pairs: confirm only what is certain."""

"""One normaliser for filings and requests alike: text folding, names, addresses (USPS Pub 28)."""

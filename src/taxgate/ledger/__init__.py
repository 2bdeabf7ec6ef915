"""The permanent accounting: durable state of batches and disclosures, the tamper-evident log."""

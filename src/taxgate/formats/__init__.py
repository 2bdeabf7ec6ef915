"""The exchange formats both agencies agree on: record models, table files, signed manifests."""

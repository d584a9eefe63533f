"""Evidence: the append-only, hash-chained, signed observation log; bundles; their verifier."""

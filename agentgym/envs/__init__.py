"""Reference environments shipped with the core (used by tests, docs and benchmarks)."""

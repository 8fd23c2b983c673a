"""callboard's benchmarks (SPEC §7): run by hand from the repository root, e.g.
``python -m benchmarks.run --help``; never a CI gate."""

"""Benchmarks (``make bench``): the platform next to the bare stack, in one run."""

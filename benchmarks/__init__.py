"""tmescope benchmarks (``make bench``)."""

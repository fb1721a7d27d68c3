"""Benchmarks: `make bench` (python -m bench). Figures are medians with min and max."""

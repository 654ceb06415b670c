"""Data-quality monitoring: per-source health of every run and drift detection."""

"""Agents on a Ray cluster (spec O2): imported only when RUNNER=ray, and by the Ray worker processes."""

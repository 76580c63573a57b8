"""Reaching people away from the page: Web Push (spec M2)."""

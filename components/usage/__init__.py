"""The usage dashboard (spec N1)."""

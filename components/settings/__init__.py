"""Settings panels: what a person chooses about the server (spec M2's notifications)."""

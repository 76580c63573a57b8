"""Attacks against the real server, and the security pieces on their own."""

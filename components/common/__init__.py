"""Pieces every area uses: formatting, diffs, live refresh, safe markdown."""

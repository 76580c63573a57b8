"""Packaging, deployment configs behind real proxies, and the benches' smoke run."""

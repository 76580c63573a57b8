"""The HTTP API, served by uvicorn behind the security gate."""

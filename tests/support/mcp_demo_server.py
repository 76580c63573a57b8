"""A small stdio MCP server for the tests (spec N4), written with the `mcp` package: one tool, `add`, which also
appends a line to the file named by DEMO_CALLS, so a test sees that the CLI really called it."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("demo")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two numbers."""
    with open(os.environ["DEMO_CALLS"], "a") as calls:
        calls.write(f"add {a} {b}\n")
    return f"The sum is {a + b}."


if __name__ == "__main__":
    server.run("stdio")

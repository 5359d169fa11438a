"""The MCP server: `effort mcp` (agent/cli/mcp_cmd.py) over the chat tools and the approval queue."""

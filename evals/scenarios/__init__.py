"""The chat eval dataset: scenarios over a fixed generated workspace, with facts computed at build time."""

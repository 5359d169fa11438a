"""Effort Copilot's agent side: configuration, the CLI, LangGraph graphs, approval and the one writer."""

import tools  # noqa: F401  (switches library telemetry off before anything else is imported)

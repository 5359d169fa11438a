"""Effort Copilot's data side: gateway -> sync -> store -> analytics -> agent tools -> the one writer.

Importing this package switches off the telemetry of the libraries we use (onnxruntime, chromadb,
deepeval, LangSmith) before any of them is imported: the product must never phone home.
"""

from tools._offline import configure_offline_environment

configure_offline_environment()

"""Dataset adapters for the estimation benchmark (TASKS.csv writers and readers)."""

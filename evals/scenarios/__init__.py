"""The chat eval dataset: scenarios over a fixed generated workspace, with facts computed at build time.

from evals.scenarios import build_eval_workspace, build_dataset
ew = build_eval_workspace()          # sandbox generator, seed 4242, 300 tasks, one planted injection
scenarios = build_dataset(ew)        # 72 scenarios in 5 categories
"""

from evals.scenarios.build import build_dataset
from evals.scenarios.model import Fact, Scenario
from evals.scenarios.workspace import EvalWorkspace, build_eval_workspace, synced_eval_workspace

__all__ = [
    "EvalWorkspace",
    "Fact",
    "Scenario",
    "build_dataset",
    "build_eval_workspace",
    "synced_eval_workspace",
]

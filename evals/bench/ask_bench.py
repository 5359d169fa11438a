"""`effort ask` offline on a 10k-task store: wall time of the first answer, as a user runs it.

Builds a SQLite store with a seeded synthetic workspace (10k tasks, ~100k entries by default), then
runs ``effort ask "<question>"`` in a fresh process for a few common questions and reports each wall
time and CPU time (user + system: what the machine's other load does not inflate much), plus the time
inside the process from the chat code's start (without Python's and the CLI's imports).

    python -m evals.bench.ask_bench [--tasks 10000] [--entries-per-task 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = [
    "How many hours did Person 3 log last month?",
    "Which task types overran last quarter?",
    "billable hours for Acme last month by project",
    "how many tasks did we complete last month?",
]


def build_store(directory: Path, tasks: int, entries_per_task: int) -> str:
    from tools.agent_tools.synthetic import synthetic_workspace
    from tools.store import Store

    ws = synthetic_workspace(tasks, seed=5, entries_per_task=entries_per_task)
    url = f"sqlite:///{directory}/effort.db"
    store = Store.open(url)
    store.upsert_people(ws.people)
    store.upsert_projects(ws.projects)
    store.upsert_tasks(ws.tasks)
    store.upsert_entries(ws.entries)
    store.close()
    return url


def run(tasks: int, entries_per_task: int, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="effort-ask-") as tmp:
        url = build_store(Path(tmp), tasks, entries_per_task)
        env = {
            **os.environ,
            "EFFORT_DATABASE_URL": url,
            "EFFORT_DATA_DIR": tmp,
            "EFFORT_AS_OF": "2026-06-15",
            "EFFORT_CHROMA_PATH": f"{tmp}/chroma",
        }
        # As on a user's machine: bytecode is cached after the first run (a sandboxed shell may forbid
        # it; compiling ~200 modules from source would then cost about 2 s of every run).
        for key in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "PYTHONDONTWRITEBYTECODE"):
            env.pop(key, None)
        effort = str(Path(sys.executable).with_name("effort"))
        subprocess.run([effort, "ask", "hello"], env=env, capture_output=True, check=False)  # warm-up
        rows = []
        for question in QUESTIONS:
            walls, cpus = [], []
            for _ in range(repeat):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(
                    [effort, "ask", question], env=env, capture_output=True, text=True, check=False
                )
                walls.append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                if done.returncode != 0:
                    raise SystemExit(f"effort ask failed: {done.stderr[-500:]}")
            in_process = _in_process(env, question)
            rows.append(
                {
                    "question": question,
                    "wall_s": round(statistics.median(walls), 2),
                    "cpu_s": round(statistics.median(cpus), 2),  # less sensitive to other load
                    "in_process_s": round(in_process, 2),
                }
            )
        import_s = _cli_import(env)
    return {
        "tasks": tasks,
        "entries": tasks * entries_per_task,
        "questions": rows,
        "cli_import_s": round(import_s, 2),
        "max_wall_s": max(float(str(r["wall_s"])) for r in rows),
    }


def _in_process(env: dict[str, str], question: str) -> float:
    code = (
        "import time; from agent.config import load_settings; t=time.perf_counter();"
        "from agent.offline import ask_offline;"
        f"r=ask_offline(load_settings(), {question!r}); print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _cli_import(env: dict[str, str]) -> float:
    code = "import time; t=time.perf_counter(); import agent.cli.commands; print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--entries-per-task", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    result = run(args.tasks, args.entries_per_task, args.repeat)
    for row in result["questions"]:  # type: ignore[attr-defined]
        print(
            f"{row['wall_s']:5.2f} s wall, {row['cpu_s']:5.2f} s CPU, {row['in_process_s']:5.2f} s in process"
            f"  {row['question']}"
        )
    print(f"importing the CLI's commands alone: {result['cli_import_s']} s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Sandbox micro-benchmark: generator speed and the request rate the server sustains.

    .venv/bin/python -m evals.bench.sandbox_gen --tasks 10000 --seconds 5 --clients 4

Prints JSON: generation time (in memory and into SQLite), object counts, and requests/s for a mix of
paged task lists (limit=100, compact and with opt_fields) and single-task GETs from concurrent clients.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sandbox import Sandbox
from sandbox.generator import generate, populate
from sandbox.state import SandboxState


def bench_generator(tasks: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    ws = generate(seed=seed, tasks=tasks)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    populate(SandboxState(), seed=seed, tasks=tasks)
    mem_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        state = SandboxState(Path(tmp) / "s.db")
        populate(state, seed=seed, tasks=tasks)
        state.close()
        db_s = time.perf_counter() - t0
    return {
        "tasks": tasks,
        "entries": ws.counts.get("time_tracking_entry", 0),
        "generate_s": round(gen_s, 2),
        "populate_memory_s": round(mem_s, 2),
        "populate_sqlite_s": round(db_s, 2),
        "anomalies": len(ws.truth.anomalies),
    }


def bench_server(tasks: int, seed: int, seconds: float, clients: int) -> dict[str, Any]:
    with Sandbox.start(seed=seed, tasks=tasks) as sb:
        projects = list(sb.truth.project_types)
        task_gids = list(sb.state.objects["task"])
        stop = threading.Event()
        counts = [0] * clients

        def worker(i: int) -> None:
            rng = random.Random(i)
            with httpx.Client(headers={"Authorization": f"Bearer {sb.token}"}, timeout=30) as c:
                while not stop.is_set():
                    r = rng.random()
                    if r < 0.4:
                        c.get(f"{sb.base_url}/projects/{rng.choice(projects)}/tasks", params={"limit": 100})
                    elif r < 0.6:
                        c.get(
                            f"{sb.base_url}/projects/{rng.choice(projects)}/tasks",
                            params={"limit": 100, "opt_fields": "name,completed,assignee.name,modified_at,"
                                    "actual_time_minutes,custom_fields.number_value"},
                        )
                    else:
                        c.get(f"{sb.base_url}/tasks/{rng.choice(task_gids)}")
                    counts[i] += 1

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        statuses = {r.status for r in sb.requests}
    return {"clients": clients, "requests": sum(counts), "requests_per_s": round(sum(counts) / elapsed),
            "statuses": sorted(statuses)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    out = {"generator": bench_generator(args.tasks, args.seed),
           "server": bench_server(args.tasks, args.seed, args.seconds, args.clients)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

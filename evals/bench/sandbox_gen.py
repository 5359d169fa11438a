"""Sandbox micro-benchmark: generator speed and the request rate the server sustains.

    .venv/bin/python -m evals.bench.sandbox_gen --tasks 10000 --seconds 5 --clients 4

Prints JSON: generation time (in memory and into SQLite), object counts, and requests/s for a mix of
paged task lists (limit=100, compact and with opt_fields) and single-task GETs from concurrent clients.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from sandbox import Sandbox
from sandbox.generator import generate, populate
from sandbox.state import SandboxState


def bench_generator(tasks: int, seed: int) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    ws = generate(seed=seed, tasks=tasks)
    gen_s, gen_cpu = time.perf_counter() - t0, time.process_time() - c0
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
        "generate_cpu_s": round(gen_cpu, 2),  # less sensitive to other load on the machine
        "populate_memory_s": round(mem_s, 2),
        "populate_sqlite_s": round(db_s, 2),
        "anomalies": len(ws.truth.anomalies),
    }


def _client_worker(
    base_url: str, token: str, projects: list[str], task_gids: list[str], seconds: float, seed: int
) -> int:
    """One load-generating client (runs in its own process so the server's core is not shared with it)."""
    rng = random.Random(seed)
    n = 0
    deadline = time.perf_counter() + seconds
    fields = "name,completed,assignee.name,modified_at,actual_time_minutes,custom_fields.number_value"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while time.perf_counter() < deadline:
            r = rng.random()
            if r < 0.4:
                c.get(f"{base_url}/projects/{rng.choice(projects)}/tasks", params={"limit": 100})
            elif r < 0.6:
                c.get(
                    f"{base_url}/projects/{rng.choice(projects)}/tasks",
                    params={"limit": 100, "opt_fields": fields},
                )
            else:
                c.get(f"{base_url}/tasks/{rng.choice(task_gids)}")
            n += 1
    return n


def bench_server(tasks: int, seed: int, seconds: float, clients: int) -> dict[str, Any]:
    """Requests/s for a mix of 100-task pages (compact / opt_fields) and full single-task GETs."""
    with Sandbox.start(seed=seed, tasks=tasks) as sb:
        projects = list(sb.truth.project_types)
        task_gids = list(sb.state.objects["task"])
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=clients, mp_context=ctx) as pool:
            t0, c0 = time.perf_counter(), time.process_time()
            futures = [
                pool.submit(_client_worker, sb.base_url, sb.token, projects, task_gids, seconds, i)
                for i in range(clients)
            ]
            total = sum(f.result() for f in futures)
            elapsed, server_cpu = time.perf_counter() - t0, time.process_time() - c0
        statuses = sorted({r.status for r in sb.requests})
    return {
        "clients": clients,
        "requests": total,
        "requests_per_s": round(total / elapsed),
        # the server's own CPU per request (clients run in other processes): what one free core sustains
        "requests_per_server_cpu_s": round(total / max(server_cpu, 1e-9)),
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    out = {
        "generator": bench_generator(args.tasks, args.seed),
        "server": bench_server(args.tasks, args.seed, args.seconds, args.clients),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

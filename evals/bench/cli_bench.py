"""How fast the `effort` command answers a person at a terminal (issue 15 / issue 13 item 6).

Two figures per command: CPU seconds of the whole run (user + sys, for `effort --help`) and the wall
time until the first visible output, measured through a pseudo-terminal as a person would see it (a
spinner counts: it is the command saying it is working). Bars: `effort --help` < 0.5 s CPU; any
command's first output < 1.5 s.

``python -m evals.bench.cli_bench [--config .effort/demo/effort.toml]`` (run `make demo` first for a
store to read). Timings depend on what else runs on the machine: the table records the load average.
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

EFFORT = str(Path(sys.executable).with_name("effort"))


def first_output(argv: list[str], timeout: float = 120.0) -> tuple[float | None, float, int]:
    """(seconds to the first non-blank output byte, total seconds, exit code) in a pseudo-terminal."""
    master, slave = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    first: float | None = None
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                if first is None and data.strip():
                    first = time.monotonic() - started
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    code = proc.wait()
    return first, time.monotonic() - started, code


def help_cpu(runs: int = 5) -> float:
    """Median CPU seconds (user + sys) of `effort --help`."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([EFFORT, "--help"], capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return sorted(samples)[len(samples) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=".effort/demo/effort.toml", help="config whose store to read")
    args = parser.parse_args(argv)
    c = ["--config", args.config]
    commands = [
        ["--help"],
        ["analyze", "variance", "--no-such-option"],
        [*c, "analyze", "forecast"],
        [*c, "analyze", "capacity"],
        [*c, "index", "status"],
        [*c, "index", "similar", "export invoices to PDF"],
        [*c, "index", "refresh", "--rebuild"],
    ]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"effort --help: {help_cpu():.2f} s CPU (median of 5; bar < 0.5 s)")
    print("| command | first output | total | exit |\n|---|---|---|---|")
    for command in commands:
        first, total, code = first_output([EFFORT, *command])
        shown = "none" if first is None else f"{first:.2f} s"
        print(f"| `effort {shlex.join(command)}` | {shown} | {total:.1f} s | {code} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

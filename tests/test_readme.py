"""The README shows only commands and options that exist (issue 13 item 7).

Every `effort …` command in the README, in code blocks and in inline code, is walked down the real
typer app (no execution): each command path must exist and each `--option` shown must belong to the
command it is shown with. The README's short-hand is understood: `a|b|c` and ` | ` list alternative
subcommands, `[...]` marks an optional part, `&&` chains commands, `#` starts a comment.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from typer.main import get_command

from agent.cli import app
from tests import REPO

README = REPO / "README.md"
_EFFORT = re.compile(r"(?:^|[\s;(&|`$])(?:\S*/)?effort ((?:[^`\n])*)")


def readme_commands(text: str) -> list[str]:
    """The text after each `effort ` in code blocks and inline code spans (one entry per command)."""
    found: list[str] = []
    in_block = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        chunks = [line] if in_block else re.findall(r"`([^`]+)`", line)
        for chunk in chunks:
            for part in re.split(r"&&|;", chunk):
                match = _EFFORT.search(" " + part.strip())
                if match:
                    found.append(match.group(1).strip())
    return found


def _tokens(command: str) -> list[str]:
    lexer = shlex.shlex(command.replace("[", " ").replace("]", " "), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote in a README line is itself a finding
        pytest.fail(f"cannot parse README command: effort {command}")


def _check(group: Any, tokens: list[str], shown: str, problems: list[str]) -> None:
    """Walk ``tokens`` down from ``group``; append what does not exist to ``problems``."""
    if hasattr(group, "commands"):  # a group (typer vendors its own click)
        if not tokens:
            return
        if tokens[0].startswith("-"):  # a group's own option (`effort --config FILE ask …`)
            option = tokens[0].split("=", 1)[0]
            param = next((p for p in group.params if option in (*p.opts, *p.secondary_opts)), None)
            if param is None and option != "--help":
                problems.append(f"`effort {shown}`: `{group.name}` has no option {option}")
                return
            takes_value = param is not None and not param.is_flag and "=" not in tokens[0]
            _check(group, tokens[2 if takes_value else 1 :], shown, problems)
            return
        head = group.commands.get(tokens[0])
        if head is not None and hasattr(head, "commands"):  # a sub-group: the alternatives are below it
            _check(head, tokens[1:], shown, problems)
            return
        # Alternatives at this level: `a|b|c [opts]` (the options go with each) or `a x | b y` (each its own).
        if "|" in tokens[0] and not tokens[0].startswith("-"):
            for name in filter(None, tokens[0].split("|")):
                _check(group, [name, *tokens[1:]], shown, problems)
            return
        if "|" in tokens:
            segments: list[list[str]] = [[]]
            for token in tokens:
                if token == "|":
                    segments.append([])
                else:
                    segments[-1].append(token)
            for segment in filter(None, segments):
                _check(group, segment, shown, problems)
            return
        name = tokens[0]
        sub = group.commands.get(name)
        if sub is None:
            problems.append(f"`effort {shown}`: no command {name!r} under `{group.name}`")
            return
        _check(sub, tokens[1:], shown, problems)
        return
    opts = {o for p in group.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for token in tokens:
        if token.startswith("-") and not re.fullmatch(r"-?\d[\d.,]*", token):
            option = token.split("=", 1)[0]
            if option not in opts:
                problems.append(f"`effort {shown}`: {group.name} has no option {option}")


def test_readme_shows_effort_commands() -> None:
    assert len(readme_commands(README.read_text(encoding="utf-8"))) >= 15


def test_every_readme_command_and_option_exists() -> None:
    root = get_command(app)
    problems: list[str] = []
    for command in readme_commands(README.read_text(encoding="utf-8")):
        tokens = [t for t in _tokens(command) if t not in ("...", "…")]
        _check(root, tokens, command, problems)
    assert problems == [], "\n".join(problems)


def test_the_checker_catches_drift() -> None:
    """The checker itself: a missing command, a missing option and an option of the wrong command."""
    root = get_command(app)
    problems: list[str] = []
    for command in (
        "analyze variance --no-such-flag",
        "no-such-command --json",
        "index status | refresh --rebuild | frobnicate",
        "analyze variance|forecast --rebuild",
        "--no-such-root-option ask x",
    ):
        _check(root, _tokens(command), command, problems)
    assert len(problems) == 6, problems
    ok: list[str] = []
    for command in (
        "analyze variance|forecast [--json]",
        "index status | refresh [--rebuild] | similar x [-k 5]",
    ):
        _check(root, _tokens(command), command, ok)
    assert ok == []

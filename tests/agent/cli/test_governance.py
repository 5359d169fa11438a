"""Issue 17 and 15 at the command line: empty selections select nothing (17.7), errors are one line on
stderr with a non-zero exit (17.11, 17.17), an item that cannot be edited is refused before anything
is decided (17.13), batches read like a page (names, links to the configured Asana, per task, one-line
summaries with the note), runs can be found by their approval id, listed, shown and abandoned, and a
run needs a sync or says why not."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.approval import build_approval_graph
from agent.checkpoint import open_checkpointer, sqlite_checkpoint_path
from agent.cli import app
from tests.fixtures.approval import ApprovalEnv, comment_proposal, field_proposal
from tools.proposals import Proposal, ProposalKind
from tools.records import Task


def _cli(env: ApprovalEnv, *args: str, **extra: str) -> Any:
    return CliRunner().invoke(
        app, list(args), env={**env.env_vars(), "EFFORT_WORKSPACE": env.workspace_gid, **extra}
    )


def _pause(env: ApprovalEnv, proposals: list[Proposal], thread: str = "batch-1") -> None:
    with open_checkpointer(env.settings) as saver:
        build_approval_graph(saver).invoke(
            {"proposals": proposals, "run_id": f"run-{thread}"},
            {"configurable": {"thread_id": thread}, "metadata": {"effort_graph": "approval"}},
        )


def _named(env: ApprovalEnv, gid: str, name: str) -> None:
    env.store.upsert_tasks(
        [Task(gid=gid, name=name, project_gid=env.scope_project, created_at="2026-01-05T09:00:00Z")]
    )


def test_empty_ids_and_selections_select_nothing(approval_env: ApprovalEnv) -> None:
    env = approval_env
    _pause(env, [field_proposal(env.in_scope[0], 4.0), comment_proposal(env.in_scope[1], "hi")])
    empty_id = _cli(env, "approvals", "approve", "")
    assert empty_id.exit_code == 1 and "approval id is empty" in empty_id.output
    empty_items = _cli(env, "approvals", "approve", "batch-1", "--items", "")
    assert empty_items.exit_code == 2 and "item is empty" in empty_items.output
    assert env.sb.write_count() == 0
    assert [p["id"] for p in json.loads(_cli(env, "approvals", "list", "--json").stdout)] == ["batch-1"]


def test_errors_are_one_line_on_stderr(approval_env: ApprovalEnv) -> None:
    env = approval_env
    _pause(env, [field_proposal(env.in_scope[0], 4.0)])
    runner = CliRunner()
    envvars = {**env.env_vars(), "EFFORT_WORKSPACE": env.workspace_gid}
    missing = runner.invoke(app, ["approvals", "show", "nope"], env=envvars)
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.startswith("error: no pending approval 'nope'") and missing.stderr.count("\n") == 1
    twice = runner.invoke(
        app,
        ["approvals", "edit", "batch-1", "--item", "1", "--value", "3", "--item", "1", "--value", "5"],
        env=envvars,
    )
    assert twice.exit_code == 2 and "more than once" in twice.stderr


def test_an_edit_that_ends_refused_exits_non_zero(approval_env: ApprovalEnv) -> None:
    env = approval_env
    _pause(env, [field_proposal(env.out_of_scope[0], 4.0)])  # approvable, refused by the guard at write time
    out = _cli(env, "approvals", "edit", "batch-1", "--item", "1", "--value", "6")
    assert (
        out.exit_code == 1 and "refused" in out.output and "edited 1 of 1 item(s) → 1 refused" in out.output
    )


def test_editing_an_item_that_cannot_be_edited_decides_nothing(approval_env: ApprovalEnv) -> None:
    env = approval_env
    summary = Proposal(kind=ProposalKind.SUMMARY_TASK, target_gid=env.scope_project, title="Retro", text="…")
    _pause(env, [field_proposal(env.in_scope[0], 4.0), summary])
    out = _cli(env, "approvals", "edit", "batch-1", "--item", "2", "--value", "x", "--approve-rest")
    assert out.exit_code == 2 and "cannot be edited" in out.output
    assert env.sb.write_count() == 0 and env.audit().entries() == []  # nothing rejected, nothing recorded
    assert json.loads(_cli(env, "approvals", "list", "--json").stdout)[0]["items"]  # still waiting


def test_a_batch_reads_like_a_page_and_every_decision_ends_with_a_summary(approval_env: ApprovalEnv) -> None:
    env = approval_env
    a, b = env.in_scope[:2]
    _named(env, a, "Checkout redesign")
    _named(env, b, "Payment retries")
    _pause(env, [field_proposal(a, 4.0), comment_proposal(a, "Estimates ran low"), field_proposal(b, 2.0)])
    shown = _cli(env, "approvals", "show", "batch-1")
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert (
        "Checkout redesign" in text and "Payment retries" in text and "```" not in text and '{"' not in text
    )
    assert text.index("Checkout redesign") < text.index("Estimates ran low") < text.index("Payment retries")
    host = env.sb.base_url.split("/api/")[0]
    payload = json.loads(_cli(env, "approvals", "show", "batch-1", "--json").stdout)
    assert payload["items"][0]["link"] == f"{host}/0/{env.scope_project}/{a}"  # the configured Asana
    assert "app.asana.com" not in json.dumps(payload)
    done = _cli(env, "approvals", "approve", "batch-1", "--items", "1,3", "--note", "ok for March")
    assert done.exit_code == 0, done.output
    assert "approved 2, rejected 1 of 3 item(s) → 2 applied. Note: “ok for March”" in done.stdout
    shown = _cli(env, "runs", "show", "batch-1")  # the approval id finds the run
    assert shown.exit_code == 0 and "run-batch-1" in shown.stdout
    items = json.loads(_cli(env, "runs", "show", "batch-1", "--json").stdout)["items"]
    assert [(i["decision"], i["write"], i["note"]) for i in items] == [
        ("approved", "applied", "ok for March"),
        ("rejected", None, "ok for March"),
        ("approved", "applied", "ok for March"),
    ]
    listed = json.loads(_cli(env, "runs", "list", "--json").stdout)
    assert [(r["run_id"], r["approval_id"], r["outcomes"]) for r in listed] == [
        ("run-batch-1", "batch-1", {"applied": 2})
    ]


def test_a_waiting_run_can_be_abandoned(approval_env: ApprovalEnv) -> None:
    env = approval_env
    _pause(env, [field_proposal(env.in_scope[0], 4.0)], thread="retro-x")
    assert _cli(env, "runs", "abandon", "retro-x").exit_code == 2  # not without --yes off a terminal
    out = _cli(env, "runs", "abandon", "retro-x", "--yes", "--note", "period was wrong")
    assert out.exit_code == 0 and "1 item(s) withdrawn" in out.stdout
    assert json.loads(_cli(env, "approvals", "list", "--json").stdout) == []
    assert env.audit().entries()[-1].decision["note"] == "abandoned: period was wrong"  # type: ignore[index]
    assert _cli(env, "approvals", "resume").exit_code == 0 and env.sb.write_count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////etc/hostname/effort.db",  # a data directory that cannot exist (a file in the way)
        "postgresql://postgres@127.0.0.1:1/effort",  # PostgreSQL down
    ],
    ids=["unwritable-data-dir", "postgres-down"],
)
@pytest.mark.parametrize(
    "command",
    [["approvals", "list"], ["runs", "list"], ["rollback", "r-1", "--yes"], ["retro", "--no-sync"]],
    ids=lambda c: c[0],
)
def test_storage_failures_are_one_clear_line(tmp_path: Path, url: str, command: list[str]) -> None:
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    out = CliRunner().invoke(
        app, command, env={"EFFORT_DATABASE_URL": url, "EFFORT_CONFIG": str(tmp_path / "none.toml")}
    )
    assert out.exit_code == 1, out.output
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1 and "Traceback" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)


def test_a_read_only_database_is_one_clear_line(approval_env: ApprovalEnv, tmp_path: Path) -> None:
    env = approval_env
    _pause(env, [field_proposal(env.in_scope[0], 4.0)])
    path = env.settings.database_url.removeprefix("sqlite:///")
    readonly = f"sqlite:///file:{path}?mode=ro&uri=true"
    out = _cli(env, "approvals", "approve", "batch-1", EFFORT_DATABASE_URL=readonly)
    assert out.exit_code == 1 and out.stderr.startswith("error: the store at") and "readonly" in out.stderr
    assert env.sb.write_count() == 0


def test_a_run_that_needs_a_sync_says_so(tmp_path: Path) -> None:
    db = tmp_path / "effort.db"
    base = {
        "EFFORT_DATABASE_URL": f"sqlite:///{db}",
        "EFFORT_DATA_DIR": str(tmp_path),
        "EFFORT_CONFIG": str(tmp_path / "x.toml"),
    }
    (tmp_path / "x.toml").write_text("", encoding="utf-8")
    no_token = CliRunner().invoke(app, ["retro", "--period", "2026-10"], env=base)
    assert (
        no_token.exit_code == 2 and "--no-sync" in no_token.stderr and "ASANA_ACCESS_TOKEN" in no_token.stderr
    )
    bad = CliRunner().invoke(app, ["retro", "--period", "2026-13", "--no-sync"], env=base)
    assert (
        bad.exit_code == 2
        and bad.stdout == ""
        and bad.stderr.startswith("error:")
        and "2026-13" in bad.stderr
    )
    local = CliRunner().invoke(app, ["retro", "--period", "2026-10", "--no-sync"], env=base)
    assert local.exit_code == 0, local.output
    assert "nothing synced yet: run `effort sync` (not synced now: --no-sync)" in local.stdout
    assert sqlite_checkpoint_path(base["EFFORT_DATABASE_URL"]) is not None
    with sqlite3.connect(db) as conn:  # the store exists; nothing else was touched
        assert conn.execute("select count(*) from audit_log").fetchone() == (0,)


def test_an_unwritable_billing_output_is_one_line(tmp_path: Path) -> None:
    from tests.fixtures.analytics import tiny_workspace
    from tests.fixtures.store import store_workspace

    (tmp_path / "x.toml").write_text("", encoding="utf-8")
    url = store_workspace(tiny_workspace(), tmp_path / "e.db")
    env = {"EFFORT_DATABASE_URL": url, "EFFORT_CONFIG": str(tmp_path / "x.toml")}
    args = ["analyze", "billing", "--period", "2026-10", "--out", "/etc/hostname/draft.csv"]
    out = CliRunner().invoke(app, args, env=env)
    assert (
        out.exit_code == 1 and "error: cannot write /etc/hostname/draft.csv: Not a directory\n" in out.stderr
    )
    assert "Traceback" not in out.output

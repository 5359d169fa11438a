"""Timesheet drafts end to end against the sandbox (the official SDK underneath): a draft waits for its
person; nothing is created without their approval (or their lead's); the approved entries carry the
writer's marker; rollback deletes exactly those. Entries are counted at the sandbox."""

from __future__ import annotations

import pytest

from agent.checkpoint import open_checkpointer
from agent.timesheet_approvals import decide, edit, submit, waiting_draft
from agent.writer import writer_from_settings
from tests.fixtures.timesheets import TODAY, WEEK, TimesheetEnv
from tools.analytics.timesheet import TimesheetError
from tools.config_types import TimesheetConfig


def test_nothing_is_created_without_the_persons_approval_and_rollback_removes_exactly_ours(
    ts_env: TimesheetEnv,
) -> None:
    draft = ts_env.draft()
    # Tuesday to Thursday are filled up to the usual four hours (what the sandbox's own history already
    # logged on those days counts), on the task in progress around them.
    assert sorted({x.entered_on.isoformat() for x in draft.lines}) == [
        "2026-11-17",
        "2026-11-18",
        "2026-11-19",
    ]
    for d in draft.days:  # each share is floored to a quarter hour
        if d.drafted_minutes:
            lines_that_day = sum(1 for x in draft.lines if x.entered_on == d.day)
            assert 240 - 15 * lines_that_day < d.logged_minutes + d.drafted_minutes <= 240
    before = ts_env.entries()
    with open_checkpointer(ts_env.settings) as saver:
        thread, proposals = submit(saver, draft)
        assert submit(saver, draft)[0] == thread  # proposing the same draft again finds it waiting
        assert ts_env.entries() == before  # a draft writes nothing
        waiting = waiting_draft(saver, ts_env.me["gid"], WEEK)
        assert waiting is not None and len(waiting.proposals) == len(proposals)
        with pytest.raises(TimesheetError, match="may not approve"):
            decide(
                ts_env.settings, ts_env.base.store, saver, waiting, "approve", approver="mallory@example.com"
            )
        assert ts_env.entries() == before
        # The person approves two of the three lines: exactly those entries appear, marked.
        lines = [1, 3]
        results = decide(
            ts_env.settings, ts_env.base.store, saver, waiting, "approve",
            approver=ts_env.me["email"].upper(), lines=lines,
        )  # fmt: skip
    made = [r for r in results if r["status"] == "applied"]
    assert len(made) == len(lines) and sum(r["status"] == "rejected" for r in results) == len(
        proposals
    ) - len(lines)
    after = ts_env.entries()
    new = {g: e for g, e in after.items() if g not in before}
    assert len(new) == len(lines) and set(before) <= set(after)
    for e in new.values():
        assert "[effort:p_" in e["description"] and e["created_by"] == ts_env.me["gid"]
        assert "2026-11-16" <= e["entered_on"] <= "2026-11-22"
    # A person's own entry is never touched: rollback deletes exactly the created ones.
    writer = writer_from_settings(ts_env.settings, store=ts_env.base.store, gateway=ts_env.base.gateway())
    undone = writer.rollback(thread, approver=ts_env.me["email"])
    assert sum(r.status.value == "rolled_back" for r in undone) == len(lines)
    assert ts_env.entries() == before


def test_a_lead_may_approve_but_only_the_persons_token_logs_their_time(ts_env: TimesheetEnv) -> None:
    draft = ts_env.draft()
    lead_settings = ts_env.settings.model_copy(
        update={"timesheets": TimesheetConfig(leads={ts_env.me["email"]: "lead@example.com"})}
    )
    before = ts_env.entries()
    with open_checkpointer(lead_settings) as saver:
        submit(saver, draft)
        waiting = waiting_draft(saver, ts_env.me["gid"], WEEK)
        assert waiting is not None
        results = decide(
            lead_settings, ts_env.base.store, saver, waiting, "approve", approver="lead@example.com"
        )
    assert results and all(r["status"] == "applied" for r in results)
    assert len(ts_env.entries()) == len(before) + len(results)


def test_the_token_must_belong_to_the_person(ts_env: TimesheetEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    draft = ts_env.draft()
    before = ts_env.entries()
    other = next(p for p in ts_env.base.store.people() if p.gid != ts_env.me["gid"])
    # Pretend the draft is someone else's: the token (the sandbox's "me") is not theirs.
    theirs = draft.model_copy(update={"person_gid": other.gid, "person_name": other.name})
    with open_checkpointer(ts_env.settings) as saver:
        submit(saver, theirs)
        waiting = waiting_draft(saver, other.gid, WEEK)
        assert waiting is not None
        with pytest.raises(TimesheetError, match="Asana logs a time entry as the user whose access token"):
            decide(ts_env.settings, ts_env.base.store, saver, waiting, "approve", approver=other.name)
    assert ts_env.entries() == before


def test_edit_then_reject_writes_nothing(ts_env: TimesheetEnv) -> None:
    draft = ts_env.draft()
    before = ts_env.entries()
    with open_checkpointer(ts_env.settings) as saver:
        first, _ = submit(saver, draft)
        waiting = waiting_draft(saver, ts_env.me["gid"], WEEK)
        assert waiting is not None
        thread, edited = edit(
            ts_env.settings, ts_env.base.store, saver, waiting, 1, approver=ts_env.me["email"], minutes=45
        )
        assert thread != first and edited[0].entry is not None and edited[0].entry.duration_minutes == 45
        again = waiting_draft(saver, ts_env.me["gid"], WEEK)
        assert again is not None and again.revision == 1
        with pytest.raises(TimesheetError, match="already waits"):
            submit(saver, draft)  # a different draft for a week that waits: decide that one first
        results = decide(
            ts_env.settings, ts_env.base.store, saver, again, "reject", approver=ts_env.me["email"]
        )
        assert {r["status"] for r in results} == {"rejected"}
        assert waiting_draft(saver, ts_env.me["gid"], WEEK) is None
    assert ts_env.entries() == before


def test_the_cli_drafts_waits_refuses_a_stranger_and_creates_on_approval(ts_env: TimesheetEnv) -> None:
    import json

    from typer.testing import CliRunner

    from agent.cli import app

    env = {
        **ts_env.base.env_vars(),
        "EFFORT_AS_OF": TODAY.isoformat(),
        "EFFORT_APPROVER": "mallory@example.com",
        "COLUMNS": "200",
    }
    (ts_env.base.tmp / "effort.toml").write_text('[scope]\nprojects = ["*"]\n')
    runner = CliRunner()
    before = ts_env.entries()
    out = runner.invoke(
        app, ["timesheet", "draft", "--person", ts_env.me["name"], "--week", WEEK, "--json"], env=env
    )
    assert out.exit_code == 0, out.output
    drafted = json.loads(out.output)
    assert drafted["approval_thread"].startswith("timesheet-")
    n = sum(1 for line in drafted["lines"] if line["task_gid"])
    refused = runner.invoke(
        app, ["timesheet", "approve", "--person", ts_env.me["name"], "--week", WEEK], env=env
    )
    assert (
        refused.exit_code == 2 and "may not approve" in refused.output and "Traceback" not in refused.output
    )
    assert ts_env.entries() == before
    ok = runner.invoke(
        app,
        ["timesheet", "approve", "--person", ts_env.me["name"], "--week", WEEK, "--lines", "2",
         "--approver", ts_env.me["email"]],
        env=env,
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert (
        f"1 entries created, {n - 1} lines rejected" in ok.output
        and "effort rollback timesheet-" in ok.output
    )
    assert len(ts_env.entries()) == len(before) + 1
    gone = runner.invoke(app, ["timesheet", "reject", "--person", ts_env.me["name"], "--week", WEEK], env=env)
    assert gone.exit_code == 2 and "no draft of" in gone.output

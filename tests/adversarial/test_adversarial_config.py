"""Adversarial: malformed configuration files give a ConfigError naming the problem, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import ConfigError, Phase, load_settings

BAD_TOML: list[tuple[str, bytes, str]] = [
    ("syntax-error", b"phase = \n", "not valid TOML"),
    ("duplicate-key", b'phase = "insight"\nphase = "suggest"\n', "not valid TOML"),
    ("unclosed-table", b"[scope\nprojects = []\n", "not valid TOML"),
    ("phase-number", b"phase = 3\n", "phase"),
    ("phase-unknown", b'phase = "autopilot"\n', "phase"),
    ("scope-not-list", b'[scope]\nprojects = "Website"\n', "scope.projects"),
    ("scope-not-table", b"scope = 5\n", "scope"),
    ("hours-text", b'[capacity]\nhours_per_week = "forty"\n', "hours_per_week"),
    ("hours-nan", b"[capacity]\nhours_per_week = nan\n", "hours_per_week"),
    ("hours-inf", b"[capacity]\nhours_per_week = inf\n", "hours_per_week"),
    ("hours-negative", b"[capacity]\nhours_per_week = -5\n", "hours_per_week"),
    ("hours-huge", b"[capacity]\nhours_per_week = 1e308\n", "hours_per_week"),
    ("person-hours-nan", b"[capacity.per_person]\nAna = nan\n", "per_person"),
    (
        "time-off-bad-date",
        b'[capacity]\ntime_off = [{person="a", start="soon", end="2026-01-01"}]\n',
        "time_off",
    ),
    ("weekend-days-text", b'[capacity]\nweekend_days = ["sat"]\n', "weekend_days"),
    ("database-url-number", b"database_url = 5\n", "database_url"),
    ("binary-garbage", b"\xff\xfe\x00\x01garbage", "UTF-8"),
]


@pytest.mark.parametrize(
    ("text", "needle"), [(t, n) for _, t, n in BAD_TOML], ids=[i for i, _, _ in BAD_TOML]
)
def test_malformed_config_is_a_config_error(tmp_path: Path, text: bytes, needle: str) -> None:
    path = tmp_path / "effort.toml"
    path.write_bytes(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert needle in message
    assert str(path) in message  # the message says which file


def test_missing_and_directory_config_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_settings(tmp_path)


def test_secret_in_bad_config_is_not_echoed(tmp_path: Path) -> None:
    """A validation error on a secret-bearing file must not print the secret back."""
    path = tmp_path / "effort.toml"
    path.write_text('ASANA_ACCESS_TOKEN = "2/1234/zz-fake-secret-token"\nphase = "nope"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "zz-fake-secret-token" not in str(info.value)


def test_valid_config_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "effort.toml"
    path.write_text('phase = "insight"\n[capacity]\nhours_per_week = 32\n', encoding="utf-8")
    settings = load_settings(path)
    assert settings.phase is Phase.INSIGHT and settings.capacity.hours_per_week == 32


@pytest.mark.parametrize(
    "token", ["tok-abc123\nsecond-tok-456", "tok-abc123 second-tok-456", "tok\x07abc123"]
)
def test_a_token_with_inner_whitespace_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, token: str
) -> None:
    """Two values pasted into one variable would otherwise fail deep in an HTTP header, in a traceback
    that prints the token."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASANA_ACCESS_TOKEN", token)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "ASANA_ACCESS_TOKEN" in str(err.value) and "whitespace" in str(err.value)
    assert "abc123" not in str(err.value) and "456" not in str(err.value)


def test_a_pasted_trailing_newline_is_dropped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASANA_ACCESS_TOKEN", "  tok-abc123\n")
    monkeypatch.setenv("OPENAI_API_KEY", "\n")
    settings = load_settings()
    assert settings.asana_access_token is not None
    assert settings.asana_access_token.get_secret_value() == "tok-abc123"
    assert settings.openai_api_key is None  # blank counts as not set


# A typo must fail closed: each of these was accepted with exit 0 and left the agent writing more widely
# (or in another phase) than the file meant.
TYPOS: list[tuple[str, str, str]] = [
    ("phaze", 'phaze = "insight"\n', "phaze: unknown key; did you mean 'phase'?"),
    ("phaes", 'phaes = "insight"\n', "did you mean 'phase'?"),
    ("rollout_phase", 'rollout_phase = "insight"\n', "did you mean 'phase'?"),
    (
        "scope-project",
        '[scope]\nproject = ["Website"]\n',
        "scope.project: unknown key; did you mean 'projects'?",
    ),
    ("scopes", '[scopes]\nprojects = ["Website"]\n', "scopes: unknown key; did you mean 'scope'?"),
    ("capacity-hours", "[capacity]\nhours = 30\n", "did you mean 'hours_per_week'?"),
    ("empty-scope-entry", '[scope]\nprojects = [""]\n', "scope.projects"),
    ("star-tag", '[scope]\ntags = ["*"]\n', "only accepted in scope.projects"),
    ("concurrency-zero", "max_concurrency = 0\n", "max_concurrency"),
    ("significant-nan", "significant_days = nan\n", "significant_days"),
    ("webhook-bytes-negative", "max_webhook_bytes = -1\n", "max_webhook_bytes"),
    ("weekend-out-of-range", "[capacity]\nweekend_days = [9, -1]\n", "weekend_days"),
    (
        "time-off-backwards",
        '[capacity]\ntime_off = [{person = "Ana", start = 2026-12-22, end = 2026-12-01}]\n',
        "ends (2026-12-01) before it starts",
    ),
    ("unknown-zone", '[schedules]\ntimezone = "Mars/Olympus"\n', "not a known time zone"),
]


@pytest.mark.parametrize(("text", "needle"), [(t, n) for _, t, n in TYPOS], ids=[i for i, _, _ in TYPOS])
def test_typos_and_senseless_values_fail_closed(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "effort.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert needle in str(info.value)


def test_the_cli_exits_non_zero_on_a_typo(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    path = tmp_path / "effort.toml"
    path.write_text('[scope]\nproject = ["Website Redesign"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["approvals", "list", "--config", str(path)])
    assert result.exit_code == 2
    assert "did you mean 'projects'?" in result.output

"""Configuration value types: the plain, validated models every layer may take as arguments.

They live at the bottom of the layers so that sync, analytics and tools can take narrow typed
arguments (a ``ScopeConfig``, a ``CapacityConfig``) without importing the loader. Loading (environment,
TOML file, secrets) and composing them into ``Settings`` is ``agent/config.py``'s job; nothing below
``agent/`` reads the environment or a config file.

Every model forbids unknown keys and checks that values make sense, because a config typo must fail
closed: ``phaze = "insight"`` or ``[scope] project = [...]`` silently ignored would leave the agent
writing where nobody meant it to.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The explicit "every synced project" entry of ``scope.projects``: an empty allowlist allows no writes.
ALL_PROJECTS = "*"


class StrictModel(BaseModel):
    """Unknown keys are errors (a typo must never be ignored)."""

    model_config = ConfigDict(extra="forbid")


class Phase(StrEnum):
    """Rollout phase, enforced by the one writer."""

    INSIGHT = "insight"  # read-only: not a single write call reaches Asana
    SUGGEST = "suggest"  # AI fields and comments, each after approval
    OPTIMIZE = "optimize"  # proactive proposals; significant ones also need an Asana approval subtask

    @property
    def writes(self) -> bool:
        return self is not Phase.INSIGHT


class ScopeConfig(StrictModel):
    """The allowlist (names or gids, names case-insensitive). What it means is decided in one place,
    ``tools/scope.py``: an empty allowlist reads every synced project and writes nothing; writing to
    every synced project needs the explicit ``projects = ["*"]``."""

    projects: list[str] = Field(default_factory=list)
    portfolios: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @field_validator("projects", "portfolios", "tags")
    @classmethod
    def _no_blank_entries(cls, value: list[str]) -> list[str]:
        # An empty string is not "everything": it is a mistake, and it must not match anything silently.
        cleaned = [v.strip() for v in value]
        if any(not v for v in cleaned):
            raise ValueError('an entry is empty; name a project/portfolio/tag, or use "*" for all projects')
        return cleaned

    @model_validator(mode="after")
    def _star_only_for_projects(self) -> ScopeConfig:
        if ALL_PROJECTS in self.portfolios or ALL_PROJECTS in self.tags:
            raise ValueError('"*" is only accepted in scope.projects (every synced project)')
        return self

    @property
    def is_empty(self) -> bool:
        return not (self.projects or self.portfolios or self.tags)


class FieldMapping(StrictModel):
    """Overrides for field discovery: custom field names (or gids) that mean estimate, actual, ..."""

    estimate: list[str] = Field(default_factory=lambda: ["Estimated Hours", "Estimate", "Estimated Time"])
    actual: list[str] = Field(default_factory=lambda: ["Actual Hours", "Actual", "Actual Time"])
    billable: list[str] = Field(default_factory=lambda: ["Billable"])
    client: list[str] = Field(default_factory=lambda: ["Client"])
    rate: list[str] = Field(default_factory=lambda: ["Hourly Rate", "Rate"])
    project_type: list[str] = Field(default_factory=lambda: ["Project Type", "Type"])


class TimeOff(StrictModel):
    person: str = Field(min_length=1)  # name, email or gid
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> TimeOff:
        if self.end < self.start:
            raise ValueError(
                f"time off for {self.person!r} ends ({self.end}) before it starts ({self.start})"
            )
        return self


def _hours_in_a_week(value: float, what: str = "") -> float:
    # NaN, infinity or a negative capacity would poison every capacity figure downstream.
    if not math.isfinite(value) or value < 0 or value > 168:
        raise ValueError(f"{what}must be a number of hours between 0 and 168")
    return value


class CapacityConfig(StrictModel):
    hours_per_week: float = 40.0
    per_person: dict[str, float] = Field(default_factory=dict)  # name or gid -> hours per week
    time_off: list[TimeOff] = Field(default_factory=list)
    ics_file: Path | None = None
    holidays: list[date] = Field(default_factory=list)
    weekend_days: list[int] = Field(default_factory=lambda: [5, 6])  # Monday = 0

    @field_validator("hours_per_week")
    @classmethod
    def _finite_hours(cls, value: float) -> float:
        return _hours_in_a_week(value)

    @field_validator("per_person")
    @classmethod
    def _finite_person_hours(cls, value: dict[str, float]) -> dict[str, float]:
        for person, hours in value.items():
            _hours_in_a_week(hours, f"{person!r}: ")
        return value

    @field_validator("weekend_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        bad = [d for d in value if not 0 <= d <= 6]
        if bad:
            raise ValueError(f"{bad} are not weekdays: use 0 (Monday) to 6 (Sunday)")
        if len(set(value)) == 7:
            raise ValueError("every day of the week cannot be a weekend day")
        return sorted(set(value))


class ScheduleConfig(StrictModel):
    """Cron expressions (5 fields) for `effort serve`; None switches a job off. An expression other than
    the default is checked at load time by the one cron reading (tools/cron.py): bad syntax, or a date
    that never comes (30 February), is refused here rather than when `effort serve` starts."""

    sync: str | None = "0 2 * * *"
    summary: str | None = "0 8 * * 1"
    retro: str | None = "0 7 1 * *"
    timesheets: str | None = "0 9 * * 1"  # last week's timesheet drafts, left for each person to approve
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone (e.g. 'Europe/Berlin', 'UTC')") from None
        return value

    @model_validator(mode="after")
    def _crons_fire(self) -> ScheduleConfig:
        from tools.cron import check_cron

        for name in ("sync", "summary", "retro", "timesheets"):
            expr = getattr(self, name)
            if expr is None or expr == type(self).model_fields[name].default:
                continue  # the defaults are known to fire (and checking them would import APScheduler)
            try:
                check_cron(expr, self.timezone)
            except ValueError as exc:
                raise ValueError(f"{name}: invalid cron expression {expr!r}: {exc}") from None
        return self


class IndexConfig(StrictModel):
    """Where the similar-task index lives (a Chroma server URL, else an embedded path) and which
    embeddings fill it (offline MiniLM by default; an OpenAI-compatible endpoint when chosen)."""

    chroma_url: str = ""
    chroma_path: Path = Path(".effort/chroma")
    embeddings: Literal["minilm", "openai"] = "minilm"
    embedding_model: str = "text-embedding-3-small"  # for embeddings = "openai"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None

    @property
    def configured(self) -> bool:
        """True when an index can exist (a server, or a path that was created by an earlier refresh)."""
        return bool(self.chroma_url) or self.chroma_path.exists()


def _positive_budget(value: float | None, what: str) -> float | None:
    # A budget of 0, a negative one or NaN would make every percentage meaningless (or infinite).
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise ValueError(f"{what} must be a positive number; got {value!r}")
    return value


class ProjectBudgetConfig(StrictModel):
    """A budget for a project that has none in Asana (or whose plan has no Budgets API): hours or
    money, exactly one. ``billable`` says which entries count (Asana's ``billable_status_filter``)."""

    project: str = Field(min_length=1)  # name (any case) or gid
    hours: float | None = None
    cost: float | None = None
    currency: str | None = None  # cost budgets: "EUR", "USD", ...
    billable: Literal["billable", "non_billable", "any"] = "any"

    @field_validator("hours", "cost")
    @classmethod
    def _positive(cls, value: float | None, info: ValidationInfo) -> float | None:
        return _positive_budget(value, f"budget {info.field_name}")

    @model_validator(mode="after")
    def _one_amount(self) -> ProjectBudgetConfig:
        if (self.hours is None) == (self.cost is None):
            raise ValueError(
                f"budget for {self.project!r}: give exactly one of hours = N or cost = N "
                f"(got {'both' if self.hours is not None else 'neither'})"
            )
        if self.hours is not None and self.currency is not None:
            raise ValueError(f"budget for {self.project!r}: a currency only goes with a cost budget")
        return self


class BudgetConfig(StrictModel):
    """Budget alerts and config budgets. ``thresholds``: percent of the budget spent at which an alert
    is proposed (each crossing once); ``forecast_alert``: also alert when the total at completion's P80
    exceeds the budget. ``projects``: budgets for projects without an Asana budget."""

    thresholds: list[float] = Field(default_factory=lambda: [75.0, 90.0, 100.0])
    forecast_alert: bool = True
    projects: list[ProjectBudgetConfig] = Field(default_factory=list)

    @field_validator("thresholds")
    @classmethod
    def _percentages(cls, value: list[float]) -> list[float]:
        bad = [v for v in value if not math.isfinite(v) or not 0 < v <= 1000]
        if bad:
            raise ValueError(f"{bad}: thresholds are percentages of the budget between 0 and 1000")
        return sorted(set(value))

    @model_validator(mode="after")
    def _one_budget_per_project(self) -> BudgetConfig:
        seen: set[str] = set()
        for item in self.projects:
            k = " ".join(item.project.split()).casefold()
            if k in seen:
                raise ValueError(f"project {item.project!r} has more than one budget")
            seen.add(k)
        return self


class TimesheetConfig(StrictModel):
    """Weekly timesheet drafts. ``leads``: who may approve a person's draft besides the person (name,
    email or gid on both sides); ``calendars``: a person's .ics file (meetings become draft lines);
    ``deliver``: how `effort serve` hands a weekly draft to its person besides the approvals inbox
    (a Slack message when a Slack webhook is set); ``day_hours``: the most a
    draft fills on one day, counting what is already logged (a cap: the target is the person's usual
    day, read from what they logged)."""

    leads: dict[str, str] = Field(default_factory=dict)
    calendars: dict[str, Path] = Field(default_factory=dict)
    deliver: Literal["slack", "none"] = "slack"
    day_hours: float = 10.0

    @field_validator("day_hours")
    @classmethod
    def _day(cls, value: float) -> float:
        if not math.isfinite(value) or not 0 < value <= 24:
            raise ValueError("must be a number of hours between 0 and 24")
        return value

    @field_validator("leads")
    @classmethod
    def _named(cls, value: dict[str, str]) -> dict[str, str]:
        if any(not k.strip() or not v.strip() for k, v in value.items()):
            raise ValueError("a lead entry is empty: map a person (name, email or gid) to their lead")
        return value


class SyncConfig(StrictModel):
    """How much sync reads beyond the lists (``[sync]`` in the config).

    Asana's time-entry lists return compact records; billable status, note, creation time and approval
    status need one request per entry. They are read for entries entered in the last
    ``detail_window_days`` (newest first, resumable), plus any period asked for with
    ``effort sync --details PERIOD``. Stories (estimate history, comments) are read for tasks changed
    in the same window. ``requests_per_minute`` is the token's known rate limit; unset, sync learns it
    from Asana's 429 answers.
    """

    detail_window_days: int = Field(default=180, ge=0, le=3660)
    stories: bool = True
    requests_per_minute: float | None = Field(default=None, gt=0, le=100_000)


class RuntimeSettings(Protocol):
    """What the read and propose tools may see of the run-time settings (``agent.config.Settings``
    satisfies it). A protocol keeps ``tools/`` free of the loader while mypy still checks the seam."""

    @property
    def phase(self) -> Phase: ...

    @property
    def scope(self) -> ScopeConfig: ...

    @property
    def capacity(self) -> CapacityConfig: ...

    @property
    def budgets(self) -> BudgetConfig: ...

    @property
    def asana_base_url(self) -> str: ...

    def secrets(self) -> list[str]: ...

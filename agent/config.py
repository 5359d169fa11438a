"""Configuration: environment variables plus an optional TOML file (``effort.toml`` or ``EFFORT_CONFIG``).

Environment wins over the file. Secrets are ``SecretStr`` so they never print in a repr, a log line or
an exception; call ``.get_secret_value()`` only where the secret is handed to a client.
"""

from __future__ import annotations

import math
import os
import tomllib
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class Phase(StrEnum):
    """Rollout phase, enforced by the one writer (agent/writer.py)."""

    INSIGHT = "insight"  # read-only: not a single write call reaches Asana
    SUGGEST = "suggest"  # AI fields and comments, each after approval
    OPTIMIZE = "optimize"  # proactive proposals; significant ones also need an Asana approval subtask


class ScopeConfig(BaseModel):
    """Allowlist of what the agent may read and write. Empty lists mean "everything the token sees"
    for reading, and nothing is written outside the projects reached through these lists."""

    projects: list[str] = Field(default_factory=list)
    portfolios: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class FieldMapping(BaseModel):
    """Overrides for field discovery: custom field names (or gids) that mean estimate, actual, ..."""

    estimate: list[str] = Field(default_factory=lambda: ["Estimated Hours", "Estimate", "Estimated Time"])
    actual: list[str] = Field(default_factory=lambda: ["Actual Hours", "Actual", "Actual Time"])
    billable: list[str] = Field(default_factory=lambda: ["Billable"])
    client: list[str] = Field(default_factory=lambda: ["Client"])
    rate: list[str] = Field(default_factory=lambda: ["Hourly Rate", "Rate"])
    project_type: list[str] = Field(default_factory=lambda: ["Project Type", "Type"])


class TimeOff(BaseModel):
    person: str  # name or gid
    start: date
    end: date


class CapacityConfig(BaseModel):
    hours_per_week: float = 40.0
    per_person: dict[str, float] = Field(default_factory=dict)  # name or gid -> hours per week
    time_off: list[TimeOff] = Field(default_factory=list)
    ics_file: Path | None = None
    holidays: list[date] = Field(default_factory=list)
    weekend_days: list[int] = Field(default_factory=lambda: [5, 6])  # Monday = 0

    @field_validator("hours_per_week")
    @classmethod
    def _finite_hours(cls, value: float) -> float:
        # NaN, infinity or a negative capacity would poison every capacity figure downstream.
        if not math.isfinite(value) or value < 0 or value > 168:
            raise ValueError("must be a number of hours between 0 and 168")
        return value

    @field_validator("per_person")
    @classmethod
    def _finite_person_hours(cls, value: dict[str, float]) -> dict[str, float]:
        for person, hours in value.items():
            if not math.isfinite(hours) or hours < 0 or hours > 168:
                raise ValueError(f"{person!r}: must be a number of hours between 0 and 168")
        return value


class ScheduleConfig(BaseModel):
    """Cron expressions (5 fields) for `effort serve`."""

    sync: str | None = "0 2 * * *"
    summary: str | None = "0 8 * * 1"
    retro: str | None = "0 7 1 * *"
    timezone: str = "UTC"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    asana_access_token: SecretStr | None = Field(default=None, alias="ASANA_ACCESS_TOKEN")
    asana_base_url: str = Field(default="https://app.asana.com/api/1.0", alias="EFFORT_ASANA_BASE_URL")
    workspace: str | None = Field(default=None, alias="EFFORT_WORKSPACE")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    llm_model: str = Field(default="gpt-4o-mini", alias="EFFORT_LLM_MODEL")
    database_url: str = Field(default="sqlite:///.effort/effort.db", alias="EFFORT_DATABASE_URL")
    chroma_url: str = Field(default="", alias="EFFORT_CHROMA_URL")
    chroma_path: Path = Field(default=Path(".effort/chroma"), alias="EFFORT_CHROMA_PATH")
    # Refresh the similar-task index after every sync (only changed tasks are re-embedded).
    index_on_sync: bool = Field(default=True, alias="EFFORT_INDEX_ON_SYNC")
    data_dir: Path = Field(default=Path(".effort"), alias="EFFORT_DATA_DIR")
    phase: Phase = Field(default=Phase.SUGGEST, alias="EFFORT_PHASE")
    approver: str = Field(default_factory=lambda: os.environ.get("USER", "cli"), alias="EFFORT_APPROVER")
    significant_days: float = 5.0  # optimize: a projection moving more than this many days is significant
    max_concurrency: int = Field(default=8, alias="EFFORT_MAX_CONCURRENCY")
    retro_project: str = "Retro Insights"
    slack_webhook_url: SecretStr | None = Field(default=None, alias="EFFORT_SLACK_WEBHOOK_URL")
    webhook_secret_store: Path | None = None
    max_webhook_bytes: int = 1_000_000
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    fields: FieldMapping = Field(default_factory=FieldMapping)
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)
    schedules: ScheduleConfig = Field(default_factory=ScheduleConfig)

    @field_validator("asana_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("asana_access_token", "openai_api_key", mode="before")
    @classmethod
    def _one_line_secret(cls, value: Any) -> Any:
        """Surrounding whitespace (a pasted newline) is dropped; whitespace inside is refused here, with
        a message that never repeats the value, rather than later in an HTTP header error that would."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError("contains whitespace or control characters (two values pasted together?)")
        return value or None

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)

    def secrets(self) -> list[str]:
        """Every secret value, for redaction filters."""
        found = [self.asana_access_token, self.openai_api_key, self.slack_webhook_url]
        return [s.get_secret_value() for s in found if s is not None and s.get_secret_value()]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


class ConfigError(ValueError):
    """A configuration file or value that cannot be used; the message says which and why."""


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("EFFORT_CONFIG")
    if env:
        return Path(env)
    default = Path("effort.toml")
    return default if default.exists() else None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if any), then let the environment and ``overrides`` win."""
    path = _config_path(config_file)
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"config file {path} is not UTF-8 text: {exc.reason} at byte {exc.start}"
            ) from None
        except OSError as exc:
            raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    # Environment variables beat the file: drop file keys whose alias is set in the environment.
    env_aliases = {
        name: field.alias for name, field in Settings.model_fields.items() if field.alias is not None
    }
    merged = {k: v for k, v in file_values.items() if not (k in env_aliases and env_aliases[k] in os.environ)}
    merged.update(overrides)
    try:
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid configuration ({path or 'environment'}): {problems}") from None

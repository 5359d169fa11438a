"""Configuration: environment variables plus an optional TOML file (``effort.toml`` or ``EFFORT_CONFIG``).

Environment wins over the file. Secrets are ``SecretStr`` so they never print in a repr, a log line or
an exception; call ``.get_secret_value()`` only where the secret is handed to a client.

The value types (phase, scope, field mapping, capacity, schedules) live in ``tools/config_types.py``
so that lower layers take them as plain arguments; this module loads and composes them. Unknown keys
and senseless values are errors that name the key (and the closest valid one): a typo never widens
what the agent may do.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tools.config_types import (
    ALL_PROJECTS,
    BudgetConfig,
    CapacityConfig,
    FieldMapping,
    IndexConfig,
    Phase,
    ScheduleConfig,
    ScopeConfig,
    SyncConfig,
    TimeOff,
    TimesheetConfig,
)

__all__ = [
    "ALL_PROJECTS",
    "BudgetConfig",
    "CapacityConfig",
    "ConfigError",
    "FieldMapping",
    "IndexConfig",
    "Phase",
    "ScheduleConfig",
    "ScopeConfig",
    "Settings",
    "SyncConfig",
    "TimeOff",
    "TimesheetConfig",
    "load_settings",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="forbid", populate_by_name=True)

    asana_access_token: SecretStr | None = Field(default=None, alias="ASANA_ACCESS_TOKEN")
    asana_base_url: str = Field(default="https://app.asana.com/api/1.0", alias="EFFORT_ASANA_BASE_URL")
    workspace: str | None = Field(default=None, alias="EFFORT_WORKSPACE")
    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    llm_model: str = Field(default="gpt-4o-mini", alias="EFFORT_LLM_MODEL")
    llm_timeout: float = Field(default=120.0, alias="EFFORT_LLM_TIMEOUT", gt=0, le=3600)
    database_url: str = Field(default="sqlite:///.effort/effort.db", alias="EFFORT_DATABASE_URL")
    chroma_url: str = Field(default="", alias="EFFORT_CHROMA_URL")
    chroma_path: Path = Field(default=Path(".effort/chroma"), alias="EFFORT_CHROMA_PATH")
    # Which embeddings fill the similar-task index: offline MiniLM, or an OpenAI-compatible endpoint.
    embeddings: Literal["minilm", "openai"] = Field(default="minilm", alias="EFFORT_EMBEDDINGS")
    embedding_model: str = Field(default="text-embedding-3-small", alias="EFFORT_EMBEDDING_MODEL")
    # Refresh the similar-task index after every sync (only changed tasks are re-embedded).
    index_on_sync: bool = Field(default=True, alias="EFFORT_INDEX_ON_SYNC")
    data_dir: Path = Field(default=Path(".effort"), alias="EFFORT_DATA_DIR")
    phase: Phase = Field(default=Phase.SUGGEST, alias="EFFORT_PHASE")
    # "Today" for every relative period and forecast (chat, retro, summary, analyze); None = the clock.
    as_of: date | None = Field(default=None, alias="EFFORT_AS_OF")
    approver: str = Field(default_factory=lambda: os.environ.get("USER", "cli"), alias="EFFORT_APPROVER")
    # optimize: a projection moving more than this many days is significant
    significant_days: float = Field(default=5.0, ge=0, le=3650, allow_inf_nan=False)
    max_concurrency: int = Field(default=8, alias="EFFORT_MAX_CONCURRENCY", ge=1, le=64)
    retro_project: str = Field(default="Retro Insights", min_length=1)
    slack_webhook_url: SecretStr | None = Field(default=None, alias="EFFORT_SLACK_WEBHOOK_URL")
    webhook_secret_store: Path | None = None
    max_webhook_bytes: int = Field(default=1_000_000, ge=1_024, le=100_000_000)
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    fields: FieldMapping = Field(default_factory=FieldMapping)
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)
    schedules: ScheduleConfig = Field(default_factory=ScheduleConfig)
    budgets: BudgetConfig = Field(default_factory=BudgetConfig)
    timesheets: TimesheetConfig = Field(default_factory=TimesheetConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    # Where users are (agent/mcp, agent/telemetry): the MCP HTTP token, logs, traces.
    mcp_token: SecretStr | None = Field(default=None, alias="EFFORT_MCP_TOKEN")
    log_format: Literal["text", "json"] = Field(default="text", alias="EFFORT_LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = Field(
        default=None, alias="EFFORT_LOG_LEVEL"
    )
    otlp_endpoint: str | None = Field(default=None, alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    otlp_headers: SecretStr | None = Field(default=None, alias="OTEL_EXPORTER_OTLP_HEADERS")
    langsmith_api_key: SecretStr | None = Field(default=None, alias="LANGSMITH_API_KEY")

    @field_validator("asana_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("asana_access_token", "openai_api_key", "mcp_token", mode="before")
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

    @property
    def index(self) -> IndexConfig:
        """Where the similar-task index lives, as the tools layer takes it."""
        return IndexConfig(
            chroma_url=self.chroma_url,
            chroma_path=self.chroma_path,
            embeddings=self.embeddings,
            embedding_model=self.embedding_model,
            openai_base_url=self.openai_base_url,
            openai_api_key=self.openai_api_key,
        )

    def today(self) -> date:
        """The one "today" for relative periods: ``as_of`` when set (``--as-of``, config or
        ``EFFORT_AS_OF``), else the clock's date in UTC."""
        from datetime import UTC, datetime

        return self.as_of or datetime.now(UTC).date()

    def secrets(self) -> list[str]:
        """Every secret value, for redaction filters."""
        found = [self.asana_access_token, self.openai_api_key, self.slack_webhook_url, self.mcp_token]
        found += [self.langsmith_api_key, self.otlp_headers]
        values = [s.get_secret_value() for s in found if s is not None and s.get_secret_value()]
        # OTLP headers are "k1=v1,k2=v2": each value (an API key) is a secret on its own too.
        if self.otlp_headers is not None:
            values += [kv.partition("=")[2].strip() for kv in self.otlp_headers.get_secret_value().split(",")]
        return [v for v in values if v]

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
        problems = "; ".join(_describe_error(e) for e in exc.errors())
        raise ConfigError(f"invalid configuration ({path or 'environment'}): {problems}") from None


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model that holds the last key of ``loc`` (for suggestions), walking nested sections."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _describe_error(error: Any) -> str:
    """One problem as ``key: message``; an unknown key names the closest valid one."""
    loc = tuple(error.get("loc") or ())
    where = ".".join(map(str, loc)) or "(top level)"
    if error.get("type") != "extra_forbidden":
        return f"{where}: {error['msg']}"
    model = _model_at(loc)
    valid = sorted(model.model_fields) if model is not None else []
    typed = str(loc[-1]).lower() if loc else ""
    close = (
        difflib.get_close_matches(typed, valid, n=1, cutoff=0.6)
        or [name for name in valid if name in typed or (len(typed) > 3 and typed in name)][:1]
    )
    hint = (
        f"; did you mean {close[0]!r}?" if close else (f"; valid keys: {', '.join(valid)}" if valid else "")
    )
    return f"{where}: unknown key{hint}"

"""Deployment settings, read from ``CALLBOARD_*`` environment variables (every one is documented in
``docs/configuration.md``; a test keeps that page honest)."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PLACEHOLDERS = {"changethis", "changeme", "secret", "password", ""}
# DuckDB's memory_limit: a share of memory, or a number with a unit (1000ⁱ or 1024ⁱ bytes)
_MEMORY = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(%|(?:[kmgt]i?)?b|[kmgt]|bytes?|(?:kilo|mega|giga|tera)bytes?)\s*",
                     re.IGNORECASE)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLBOARD_", extra="ignore")

    data_dir: Path = Field(Path("callboard-data"), description="Folder holding everything of an embedded deployment.")
    engine: str = Field("duckdb", description="Calls engine: duckdb (file in data_dir), pyspark, or an Ibis URL.")
    database_url: str | None = Field(
        None, description="Metadata store URL (SQLAlchemy). Default: SQLite file meta.sqlite in data_dir."
    )
    admin_token: str | None = Field(None, description="System administrator token for automation.")
    secret_key: str | None = Field(
        None, description="Key signing download links. Default: a random key kept in data_dir/secret.key."
    )
    settle_lag_minutes: int = Field(15, ge=0, description="Periods reaching 'now' end this many minutes before it.")
    result_ttl_seconds: int = Field(7 * 24 * 3600, gt=0, description="How long results are kept (then 410 Gone).")
    download_url_expiry_seconds: int = Field(3600, gt=0, description="Lifetime of signed report download links.")
    rate_limit_per_minute: int = Field(600, ge=0, description="Requests per token per minute (0 = unlimited).")
    client_rate_limit_per_minute: int = Field(
        60, ge=0, description="Failed authentications, and download-link requests, per client address per "
        "minute (0 = unlimited).")
    max_body_bytes: int = Field(256 * 1024 * 1024, gt=0, description="Largest accepted request body.")
    max_json_body_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest body of every route but call-record ingest (which takes "
        "up to max_body_bytes).")
    workers: int = Field(
        4, ge=0, description="Reports `callboard serve` runs at once (in-process workers, each on a cursor of "
        "its own on engines that run queries concurrently).")
    long_report_days: float = Field(
        31, gt=0, description="A report whose period covers more days than this runs in the long lane.")
    long_report_runs: int = Field(
        1, ge=1, description="Workers that take long-lane reports (never all of them: the rest keep "
        "short reports moving).")
    tenant_concurrent_runs: int = Field(
        3, ge=1, description="Requests of one tenant running at once; its further requests wait their turn.")
    engine_threads: int | None = Field(
        None, ge=1, description="Threads of the embedded DuckDB engine, shared by every running report "
        "(default: one per core).")
    query_timeout_seconds: int = Field(300, gt=0, description="Longest a single report may run in the engine.")
    memory_limit: str = Field(
        "50%", description="Memory the embedded DuckDB engine may use: a share of the machine's (or "
        "container's) memory such as 50%, or a size such as 4GB; beyond it queries spill to data_dir/tmp.")
    public_url: str | None = Field(None, description="Base URL used in links (default: from the request).")
    worker_poll_seconds: float = Field(
        1.0, gt=0, description="How often an idle report worker looks for queued requests."
    )
    worker_heartbeat_seconds: float = Field(
        5.0, gt=0, description="How often a worker running a request records that it is alive."
    )
    worker_stale_seconds: float = Field(
        60.0, gt=0, description="A running request whose worker has not reported for this long is run again."
    )
    stream_chunk_bytes: int = Field(
        256 * 1024, gt=0, description="Size of the pieces a streamed result is sent in (memory per stream)."
    )
    retry_after_seconds: int = Field(
        2, ge=1, description="Retry-After sent with a result that is not ready yet (202)."
    )
    backup_dir: Path | None = Field(
        None, description="Folder a running server writes online backups into (each a named folder inside it); "
                          "unset: online backups through the API are off."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object per line (for log collectors)."
    )

    @field_validator("memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        match = _MEMORY.fullmatch(value)
        amount = float(match.group(1)) if match else 0.0
        if not match or amount <= 0 or (match.group(2) == "%" and amount > 100):
            raise ValueError(f"{value!r} is not a memory size: give a share of memory such as 50% (at most "
                             "100%) or a size such as 4GB, 512MB or 8GiB")
        return value.strip()

    @field_validator("admin_token", "secret_key")
    @classmethod
    def _refuse_placeholders(cls, value: str | None) -> str | None:
        if value is not None and (value.strip().lower() in _PLACEHOLDERS or len(value) < 16):
            raise ValueError("must be a real secret of at least 16 characters, not a placeholder")
        return value

    @cached_property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'meta.sqlite').resolve()}"

    @property
    def calls_path(self) -> Path:
        return self.data_dir / "calls.duckdb"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"

"""Service settings, read from the environment with the ``CINNAMON_`` prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseSettings):
    """Limits applied to every input table and configuration."""

    model_config = SettingsConfigDict(env_prefix="CINNAMON_LIMIT_", extra="forbid")

    max_bytes: int = Field(200 * 1024 * 1024, ge=1, description="largest input file in bytes")
    max_rows: int = Field(2_000_000, ge=1, description="most data rows in an input table")
    max_columns: int = Field(1_000, ge=1, description="most columns in an input table")
    max_field_chars: int = Field(100_000, ge=1, description="longest single cell, in characters")
    max_xlsx_uncompressed_bytes: int = Field(
        500 * 1024 * 1024, ge=1, description="largest total uncompressed size of an .xlsx"
    )
    max_config_bytes: int = Field(1024 * 1024, ge=1, description="largest YAML/JSON config")
    max_num_rows: int = Field(10_000_000, ge=1, description="most synthetic rows per job")
    max_categories: int = Field(
        1_000,
        ge=2,
        description="distinct levels modelled per categorical column; rarer ones pooled",
    )


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with."""

    model_config = SettingsConfigDict(env_prefix="CINNAMON_", env_nested_delimiter="__")

    data_dir: Path = Field(Path("data"), description="root of all files the service writes")
    secret_key: str = Field(
        "change-me-in-production",
        min_length=8,
        description="key for the HMAC that guards model files written by the service",
    )
    sample_batch_rows: int = Field(50_000, ge=100, description="rows generated per batch")
    threads: int = Field(0, ge=0, description="torch/BLAS threads per job; 0 = all cores")
    limits: Limits = Field(default_factory=Limits)

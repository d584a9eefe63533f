"""Process settings (env prefix CYBERCOVER_). Read through the cached `get_settings()`, never at
import, so tests and the CLI can build an app from explicit settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CYBERCOVER_", extra="ignore")

    data_dir: Path = Path(".cybercover")
    database_url: str | None = None  # default: SQLite file in data_dir
    admin_key: SecretStr | None = None  # bootstrap admin API key
    rpc_url: str = "http://127.0.0.1:8545"
    manifest: Path | None = None  # default: data_dir/deployment.json
    # The service's own account (distributor, underwriter and claims roles on PolicyBook; pays
    # premiums). Unlocked on the node unless a private key is given.
    operator_address: str | None = None
    operator_key: SecretStr | None = None
    # The accredited assessor account that anchors reports.
    assessor_address: str | None = None
    assessor_key: SecretStr | None = None
    assessor_name: str = "CyberCover Assessment Desk"
    gas_limit: int | None = None  # fixed gas instead of estimation (eth-tester: estimation is slow)
    settle_batch: int = 50
    issue_batch: int = 100
    worker_interval: float = 5.0
    # Blocks a log must be buried under before the indexer projects it (and so before the worker
    # acts on it). 0 suits the local chain; on a real network pick more than its reorg depth.
    confirmations: int = Field(default=0, ge=0)
    lease_seconds: int = 120
    webhook_max_attempts: int = 8
    webhook_backoff: float = 2.0

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cybercover.db').resolve()}"

    @property
    def manifest_path(self) -> Path:
        return self.manifest or self.data_dir / "deployment.json"


@lru_cache
def get_settings() -> Settings:
    return Settings()

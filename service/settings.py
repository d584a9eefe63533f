"""Process settings (env prefix CYBERCOVER_). Read through the cached `get_settings()`, never at
import, so tests and the CLI can build an app from explicit settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
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
    insurer_name: str = "CyberCover Insurance"  # the insurer a policy schedule names
    gas_limit: int | None = None  # fixed gas instead of estimation (eth-tester: estimation is slow)
    settle_batch: int = 50
    issue_batch: int = 100
    # Settle transactions the worker keeps in flight at most (sized down to fill ~2 blocks, no more than
    # `block_share` of one block unmined; 1: one at a time).
    settle_in_flight: int = Field(default=16, ge=1, le=256)
    # Issue transactions a batch request keeps in flight at most.
    issue_in_flight: int = Field(default=16, ge=1, le=256)
    # The share of a block's gas limit the service's unmined transactions may take together: the
    # next one waits for room (`Sender._admit`; the rest of the block is left to other senders).
    block_share: float = Field(default=0.97, gt=0, le=1)
    # A transaction still unmined after this many seconds is replaced with higher fees (same nonce).
    stuck_seconds: float = Field(default=30.0, gt=0)
    worker_interval: float = 5.0
    # Blocks a log must be buried under before the indexer projects it (and so before the worker
    # acts on it). 0 suits the local chain; on a real network pick more than its reorg depth.
    confirmations: int = Field(default=0, ge=0)
    lease_seconds: int = 120
    # Webhooks (service.webhooks): delivered by their own dispatcher thread, never the payout loop.
    webhook_max_attempts: int = 8
    webhook_backoff: float = 2.0
    webhook_max_per_tenant: int = 10  # also bounds the deliveries one event fans out to
    webhook_attempt_deadline: float = 10.0  # seconds for one whole attempt: DNS, connect, TLS, send, status
    webhook_concurrency: int = 16  # attempts in flight, all tenants
    webhook_tenant_concurrency: int = 2  # attempts in flight per tenant
    webhook_breaker_failures: int = 5  # consecutive failures that open a destination's circuit
    webhook_breaker_cooldown: float = 60.0  # seconds before one trial attempt (half-open)
    webhook_poll_interval: float = 1.0
    # Local development only: accept http:// and loopback destinations (tests, a demo receiver).
    webhook_allow_loopback_http: bool = False
    webhook_secret_key: SecretStr | None = None  # 64 hex chars; default: data_dir/webhook-secret.key
    # Notices (service.notices): `policy.expiring` goes out this many days before a cover ends (0: never).
    notice_expiring_days: int = Field(default=14, ge=0)
    # Request bodies: bounded before they are read or parsed (service.api.app, contracts.asgilimits).
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    max_json_depth: int = Field(default=64, ge=8, le=500)
    # /metrics answers any valid API key, or `Authorization: Bearer <metrics_token>` for a scraper.
    metrics_token: SecretStr | None = None
    # An idempotency reservation without an outcome is taken over after this long (its process died).
    idempotency_ttl_seconds: int = Field(default=600, ge=1)
    # A batch left `sending`/`pending` this long without progress lost its process: the worker's
    # reconciler finishes it from the chain (service.domain.issue_intents). Above the sender's
    # 120 s receipt wait, so a live thread waiting out a slow receipt is not taken for dead.
    issue_stale_seconds: int = Field(default=300, ge=1)
    # The payout token's currency (ISO 4217, e.g. USD for a USD stablecoin) and decimals (6): a claim
    # approval is capped by its incident report's quantified loss in token units when the report's
    # currency is this one (service.domain.claim_view.approval_cap). Unset: the cap is the claim.
    token_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    token_decimals: int | None = Field(default=None, ge=0, le=36)
    oracle_nodes: dict[str, str] = {}  # oracle signer address → node API base URL (evidence links, monitoring facts)
    # Seconds one oracle node may take to answer the claim view's evidence look-up (then: unreachable).
    oracle_node_timeout: float = Field(default=2.0, gt=0, le=30)

    @model_validator(mode="after")
    def _token_currency_has_decimals(self) -> Settings:
        if self.token_currency is not None and self.token_decimals is None:
            raise ValueError("CYBERCOVER_TOKEN_CURRENCY needs CYBERCOVER_TOKEN_DECIMALS (the payout token's decimals)")
        return self

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

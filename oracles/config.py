"""Node configuration.

The TOML file (`cybercover-oracle run --config node.toml`) holds everything that is not a
secret and is validated into frozen pydantic models. Secrets come only from the environment
through `OracleSettings` (prefix `ORACLE_`), as `SecretStr`, and are read by `get_settings()`,
never at import. Relative paths in the file are relative to the file itself.
"""

from __future__ import annotations

import ipaddress
import tomllib
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from eth_utils.address import is_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.eip712 import service_id as hash_service_name
from contracts.runtime import write_private

from . import tomlw
from .errors import ConfigError
from .verdicts import BUCKET_SECONDS

DEFAULT_ACCEPT = range(200, 400)
MAX_UINT32 = 2**32 - 1


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    value = value.expanduser()
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return value


# Names end up in URLs (episode ids), metric labels and SQLite keys: keep them plain.
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
FilePath = Annotated[Path, AfterValidator(_resolve_path)]
Bytes32Hex = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]


def _checksum(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"{value!r} is not an address")
    return to_checksum_address(value)


def parse_address(address: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` → (host, port)."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        ipaddress.IPv6Address(host)
    elif ":" in host:
        raise ValueError(f"IPv6 address {host!r} must be written in brackets")
    return host, port


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProbeSpec(_Model):
    """One thing to probe. Targets are probed for their owners; canaries for our own health."""

    name: Name
    kind: Literal["http", "tcp", "tls"]
    url: str | None = None
    address: str | None = None
    # Fixed-rate period; the design caps it at 30 s so every minute holds ≥ 2 samples.
    interval: float = Field(default=15.0, gt=0, le=30)
    timeout: float = Field(default=5.0, gt=0)
    # Offset of this target's slots within its period; by default derived from node + name.
    phase: float | None = Field(default=None, ge=0)
    # http conditions
    method: Literal["GET", "HEAD"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    accept_status: tuple[Annotated[int, Field(ge=100, le=599)], ...] = ()
    body_contains: str | None = None
    json_path: str | None = None
    json_equals: str | bool | int | float | None = None
    max_latency_ms: int | None = Field(default=None, gt=0)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # http(s) and tls
    ca_file: FilePath | None = None
    # tls
    server_name: str | None = None
    min_days_left: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _coherent(self) -> ProbeSpec:
        if self.timeout >= self.interval:
            # One probe per target in flight keeps each target's evidence chain in start order.
            raise ValueError(
                f"timeout ({self.timeout} s) must be shorter than interval ({self.interval} s)"
            )
        if self.phase is not None and self.phase >= self.interval:
            raise ValueError(f"phase ({self.phase}) must be below interval ({self.interval})")
        if self.kind == "http":
            if self.url is None or self.address is not None:
                raise ValueError("an http probe needs `url` and no `address`")
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"url {self.url!r} is not an http(s) URL")
            if self.server_name is not None or self.min_days_left:
                raise ValueError("server_name and min_days_left apply to tls probes only")
        else:
            if self.address is None or self.url is not None:
                raise ValueError(f"a {self.kind} probe needs `address` (host:port) and no `url`")
            parse_address(self.address)
            http_only = {"method", "headers", "accept_status", "body_contains", "json_path",
                         "json_equals", "max_latency_ms", "max_body_bytes"}
            if used := sorted(http_only & self.model_fields_set):
                raise ValueError(f"{', '.join(used)} apply to http probes only")
            if self.kind == "tcp" and {"ca_file", "server_name", "min_days_left"} & (
                self.model_fields_set
            ):
                raise ValueError("ca_file, server_name and min_days_left apply to tls probes")
        if (self.json_path is None) != ("json_equals" not in self.model_fields_set):
            raise ValueError("json_path and json_equals go together")
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        if self.address is None:
            raise ValueError(f"{self.name} has no address")
        return parse_address(self.address)

    def accepts(self, status: int) -> bool:
        return status in (self.accept_status or DEFAULT_ACCEPT)


class CanaryConfig(ProbeSpec):
    """A known-good endpoint: when it fails, the node doubts itself, not the targets."""


class TargetConfig(ProbeSpec):
    # The covered service: `service` is hashed into the on-chain id, or give `service_id`.
    service: str | None = None
    service_id: Bytes32Hex | None = None
    threshold_fraction: float = Field(default=0.5, gt=0, le=1)
    min_samples: int = Field(default=2, ge=1)
    open_after: int = Field(default=3, ge=1, description="K: DOWN minutes that open an episode")
    close_after: int = Field(default=3, ge=1, description="M: UP minutes that close it")
    threshold_seconds: int = Field(default=3600, ge=1)

    @model_validator(mode="after")
    def _service(self) -> TargetConfig:
        if (self.service is None) == (self.service_id is None):
            raise ValueError("give exactly one of `service` (a name) or `service_id` (0x bytes32)")
        return self

    def samples_problem(self, bucket_seconds: int) -> str | None:
        """Why `min_samples` can never be met in a bucket of `bucket_seconds`, if it cannot."""
        per_bucket = int(bucket_seconds // self.interval)
        if self.min_samples > per_bucket:
            return (f"min_samples={self.min_samples} can never be met: an interval of "
                    f"{self.interval} s guarantees only {per_bucket} probes per {bucket_seconds} s bucket")
        return None

    @cached_property
    def service_id_bytes(self) -> bytes:
        if self.service_id is not None:
            return bytes.fromhex(self.service_id[2:])
        assert self.service is not None
        return hash_service_name(self.service)


class NodeSection(_Model):
    data_dir: FilePath
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8701, ge=0, le=65535)
    max_concurrency: int = Field(default=256, ge=1)
    # The on-chain oracle config version the node signs for (uint32).
    config_version: int = Field(ge=1, le=MAX_UINT32)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ChainSection(_Model):
    chain_id: int = Field(ge=1)
    oracle_address: Annotated[str, AfterValidator(_checksum)]
    rpc_url: str | None = None
    # The verdict bucket (seconds): the OutageOracle's `bucketSeconds()`, checked against the
    # chain at start when `rpc_url` is set (a mismatch refuses to start).
    bucket_seconds: int = Field(default=BUCKET_SECONDS, ge=1, le=3600)


class KeySection(_Model):
    # Encrypted keystore (password: ORACLE_KEYSTORE_PASSWORD). Without it the key is read
    # from ORACLE_PRIVATE_KEY.
    keystore: FilePath | None = None


class TransmitSection(_Model):
    enabled: bool = False
    submitter: Literal["rpc", "relay"] = "relay"
    relay_url: str | None = None
    quorum: int | None = Field(default=None, ge=1, le=255)
    peers: tuple[str, ...] = ()
    # Registered oracle signers. With a relay the node cannot read them from the chain, and one
    # unknown signer makes the contract refuse a whole set; with rpc the chain's list is used.
    signers: tuple[Annotated[str, AfterValidator(_checksum)], ...] = ()
    interval: float = Field(default=10.0, gt=0)
    lookback: int = Field(default=86_400, gt=0)
    peer_timeout: float = Field(default=5.0, gt=0)
    receipt_timeout: float = Field(default=120.0, gt=0)
    # The transaction key pays gas and is not the oracle key (password:
    # ORACLE_TX_KEYSTORE_PASSWORD); without a keystore, ORACLE_TX_PRIVATE_KEY.
    tx_keystore: FilePath | None = None


class NodeConfig(_Model):
    node: NodeSection
    chain: ChainSection
    key: KeySection = KeySection()
    transmit: TransmitSection = TransmitSection()
    canaries: tuple[CanaryConfig, ...] = ()
    targets: tuple[TargetConfig, ...]

    @model_validator(mode="after")
    def _coherent(self) -> NodeConfig:
        if not self.targets:
            raise ValueError("at least one [[targets]] entry is required")
        names = [p.name for p in (*self.canaries, *self.targets)]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"names must be unique across targets and canaries: {dupes}")
        bucket = self.chain.bucket_seconds
        for i, target in enumerate(self.targets):
            if problem := target.samples_problem(bucket):
                raise ValueError(f"targets[{i}]: {problem}")
        for i, canary in enumerate(self.canaries):
            if canary.interval > bucket:  # a bucket without a canary sample is UNKNOWN
                raise ValueError(f"canaries[{i}]: an interval of {canary.interval} s leaves some "
                                 f"{bucket} s buckets without a canary probe (they would be UNKNOWN)")
        t = self.transmit
        if t.enabled:
            if t.quorum is None:
                raise ValueError("transmit.quorum is required when transmit.enabled")
            if t.submitter == "relay" and not t.relay_url:
                raise ValueError("transmit.submitter = 'relay' needs transmit.relay_url")
            if t.submitter == "rpc" and not self.chain.rpc_url:
                raise ValueError("transmit.submitter = 'rpc' needs chain.rpc_url")
        return self

    @property
    def probes(self) -> tuple[ProbeSpec, ...]:
        return (*self.canaries, *self.targets)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_config(raw: dict[str, Any], base_dir: Path | None = None, *, source: str = "config"
                 ) -> NodeConfig:
    try:
        return NodeConfig.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            # Model-level validators report under the model's own location.
            loc = tuple(p for p in err["loc"] if p not in {"function-after"})
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {_format_loc(loc)}: {msg}")
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(lines)) from None


def dump_config(config: NodeConfig) -> str:
    """The config as TOML that `load_config` reads back as an equal config.

    Only fields that were set are written, so defaults and the "which fields were given" checks
    survive the round trip; the round trip itself is checked, so a file written here is one the
    node accepts.
    """
    text = tomlw.dumps(config.model_dump(mode="json", exclude_unset=True))
    if parse_config(tomllib.loads(text), source="generated config") != config:
        raise ConfigError("generated config does not read back as the same config")
    return text


def write_config(path: Path, config: NodeConfig) -> None:
    """`dump_config` to `path`, whole and private (0600): how `up` and the tests write node configs."""
    write_private(path, dump_config(config))


def load_config(path: Path) -> NodeConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(raw, path.resolve().parent, source=str(path))


class OracleSettings(BaseSettings):
    """Secrets, from the environment only."""

    model_config = SettingsConfigDict(env_prefix="ORACLE_", extra="ignore")

    private_key: SecretStr | None = None
    keystore_password: SecretStr | None = None
    tx_private_key: SecretStr | None = None
    tx_keystore_password: SecretStr | None = None
    relay_api_key: SecretStr | None = None  # sent as X-API-Key to the relay (the service)
    metrics_token: SecretStr | None = None  # /metrics, /openapi.json: bearer token; unset → loopback only


@lru_cache(maxsize=1)
def get_settings() -> OracleSettings:
    return OracleSettings()

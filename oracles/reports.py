"""Signed outage reports: the EIP-712 `OutageReport` plus what a peer needs to check it.

The JSON shape (served by `GET /v1/reports`, consumed by transmitters and the relay):

    {"episode_id": "api@1700000040", "target": "api", "service_id": "0x…32 bytes",
     "config_version": 1, "start": 1700000040, "end": 1700000400, "ongoing": true,
     "evidence_root": "0x…32 bytes", "seq": 3, "r": "0x…", "vs": "0x…",
     "signer": "0xChecksummed", "chain_id": 31337, "verifying_contract": "0x…",
     "signed_at": 1700000410}

Only the EIP-712 fields are signed; `episode_id`, `target` and `signed_at` are bookkeeping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from eth_utils.address import is_address, to_checksum_address

from contracts import eip712

from .errors import ReportFormatError
from .keys import NodeKey

MAX_UINT32 = 2**32 - 1
MAX_UINT64 = 2**64 - 1
T = TypeVar("T")


def episode_id(target: str, start: int) -> str:
    """Stable across restarts and re-signings: the target and its first DOWN minute."""
    return f"{target}@{start}"


@dataclass(frozen=True, slots=True)
class SignedReport:
    episode_id: str
    target: str
    service_id: bytes
    config_version: int
    start: int
    end: int
    ongoing: bool
    evidence_root: bytes
    seq: int
    r: bytes
    vs: bytes
    signer: str
    chain_id: int
    verifying_contract: str
    signed_at: int

    def domain(self) -> dict[str, Any]:
        return eip712.oracle_domain(self.chain_id, self.verifying_contract)

    def message(self) -> dict[str, Any]:
        return eip712.outage_report_message(
            self.service_id, self.config_version, self.start, self.end, self.ongoing,
            self.evidence_root, self.seq,
        )

    def digest(self) -> bytes:
        return eip712.digest(self.domain(), "OutageReport", self.message())

    def recovered_signer(self) -> str | None:
        try:
            return eip712.recover(self.digest(), self.r, self.vs)
        except Exception:  # eth_keys: r/s out of range, not on the curve
            return None

    def is_authentic(self) -> bool:
        return self.recovered_signer() == self.signer

    def overlaps(self, other: SignedReport) -> bool:
        return self.start < other.end and other.start < self.end

    def as_call_tuple(self) -> tuple[int, int, bool, bytes, int, bytes, bytes]:
        """`OutageOracle.SignedReport` in ABI field order."""
        return (self.start, self.end, self.ongoing, self.evidence_root, self.seq, self.r,
                self.vs)

    def to_json(self) -> dict[str, Any]:
        """The fields in order, byte strings as 0x-hex."""
        return {k: "0x" + v.hex() if isinstance(v, bytes) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Any) -> SignedReport:
        if not isinstance(data, dict):
            raise ReportFormatError("a report is a JSON object")
        try:
            report = cls(
                episode_id=_typed(data, "episode_id", str, "a string"),
                target=_typed(data, "target", str, "a string"),
                service_id=_b32(data, "service_id"),
                config_version=_uint(data, "config_version", MAX_UINT32),
                start=_uint(data, "start", MAX_UINT64),
                end=_uint(data, "end", MAX_UINT64),
                ongoing=_typed(data, "ongoing", bool, "a boolean"),
                evidence_root=_b32(data, "evidence_root"),
                seq=_uint(data, "seq", MAX_UINT64),
                r=_b32(data, "r"),
                vs=_b32(data, "vs"),
                signer=_address(data, "signer"),
                chain_id=_uint(data, "chain_id", MAX_UINT64),
                verifying_contract=_address(data, "verifying_contract"),
                signed_at=_uint(data, "signed_at", MAX_UINT64),
            )
        except KeyError as exc:
            raise ReportFormatError(f"report field {exc.args[0]!r} is missing") from None
        if report.end <= report.start:
            raise ReportFormatError("report end must be after its start")
        return report


def sign_report(key: NodeKey, *, episode: str, target: str, service_id: bytes,
                config_version: int, start: int, end: int, ongoing: bool, evidence_root: bytes,
                seq: int, chain_id: int, verifying_contract: str, signed_at: int
                ) -> SignedReport:
    verifying_contract = to_checksum_address(verifying_contract)
    dom = eip712.oracle_domain(chain_id, verifying_contract)
    msg = eip712.outage_report_message(service_id, config_version, start, end, ongoing,
                                       evidence_root, seq)
    sig = key.sign_outage_report(dom, msg)
    return SignedReport(
        episode_id=episode, target=target, service_id=service_id,
        config_version=config_version, start=start, end=end, ongoing=ongoing,
        evidence_root=evidence_root, seq=seq, r=sig.r, vs=sig.vs, signer=sig.signer,
        chain_id=chain_id, verifying_contract=verifying_contract, signed_at=signed_at,
    )


def _typed(data: dict[str, Any], name: str, kind: type[T], what: str) -> T:
    value = data[name]
    if not isinstance(value, kind):
        raise ReportFormatError(f"report field {name!r} must be {what}")
    return value


def _uint(data: dict[str, Any], name: str, maximum: int) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ReportFormatError(f"report field {name!r} must be an integer in [0, {maximum}]")
    return value


def _b32(data: dict[str, Any], name: str) -> bytes:
    value = data[name]
    if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise ReportFormatError(f"report field {name!r} must be 0x-prefixed 32-byte hex")


def _address(data: dict[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not is_address(value):
        raise ReportFormatError(f"report field {name!r} must be an address")
    return to_checksum_address(value)

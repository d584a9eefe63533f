"""The keys AssessmentRegistry derives, computed off-chain the same way.

An anchored report is stored under `anchor_id(assessor, report_hash)` — the anchor commits to
its assessor, so nobody can take another assessor's report by anchoring its hash first — and
that id is what the policy book's `PolicyTerms.reportHash`, `replaces`, `revoke` and the
underwriting gate take. An incident report (§8) is anchored for
`incident_subject(policy_subject, service_id)`. A test checks both against the contract.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


def anchor_id(assessor: str, report_hash: bytes) -> bytes:
    """`keccak256(abi.encode(assessor, reportHash))`: the id of a report (or batch root) anchored by `assessor`."""
    return keccak(encode(["address", "bytes32"], [to_checksum_address(assessor), report_hash]))


def incident_subject(policy_subject: bytes, service_id: bytes) -> bytes:
    """`keccak256(abi.encode(policySubject, serviceId))`: the subject of an incident report about an
    outage of the covered service `service_id` for the insured subject `policy_subject`."""
    return keccak(encode(["bytes32", "bytes32"], [policy_subject, service_id]))

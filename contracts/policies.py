"""Policy records rebuilt from PolicyBook events.

The book stores only the hash of each policy record; every change is in its events. This
projection replays them so callers can pass records back to `settle`, `expire` and claim
decisions, and checks itself against `policyHash` when asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from web3.logs import DISCARD

from contracts.enums import ClaimReason, PolicyStatus
from contracts.records import PolicyRecord

_DECISIONS = {"ClaimApproved": "approved", "ClaimRejected": "rejected", "ClaimLapsed": "lapsed"}


class PolicyProjection:
    """In-memory projection: policy id → record, claim id → (policy id, amount, status)."""

    EVENTS = ("PolicyIssued", "PayoutSent", "ClaimOpened", "ClaimIncreased", "ExcludedEventReviewed",
              "ClaimApproved", "ClaimRejected", "ClaimLapsed", "PolicyExpired", "PolicyCancelled", "PolicyRenewed")

    def __init__(self) -> None:
        self.policies: dict[int, PolicyRecord] = {}
        self.claims: dict[int, dict[str, Any]] = {}

    def apply_receipt(self, book: Any, receipt: Any) -> None:
        logs = [getattr(book.events, name)().process_receipt(receipt, errors=DISCARD) for name in self.EVENTS]
        for ev in sorted((ev for found in logs for ev in found), key=lambda e: e["logIndex"]):
            self.apply(ev["event"], dict(ev["args"]))

    def apply(self, name: str, args: dict[str, Any]) -> None:
        if name == "PolicyIssued":
            self.policies[args["policyId"]] = PolicyRecord.decode(args["policy"])
            return
        pid = args.get("policyId")
        rec = self.policies.get(pid) if pid is not None else None
        if rec is None:
            return
        if name == "PayoutSent":
            rec = replace(rec, paid=rec.paid + args["amount"], settled=args["entitlement"])
        elif name == "ClaimOpened":
            rec = replace(rec, open_claim=args["claimId"], settled=args["entitlement"])
            self.claims[args["claimId"]] = {"policy_id": pid, "amount": args["amount"], "status": "open",
                                            "deadline": args["deadline"], "reason": ClaimReason(args["reason"])}
        elif name == "ClaimIncreased":
            rec = replace(rec, settled=args["entitlement"])
            self.claims[args["claimId"]]["amount"] = args["amount"]
        elif name == "ExcludedEventReviewed":
            rec = replace(rec, event_settled=args["eventSettled"])
            self.claims[args["claimId"]]["reason"] = ClaimReason.EXCLUDED_EVENT
        elif name in _DECISIONS:
            rec = replace(rec, open_claim=0)
            self.claims[args["claimId"]]["status"] = _DECISIONS[name]
            if name == "ClaimApproved":
                self.claims[args["claimId"]]["approved"] = args["amount"]
        elif name == "PolicyExpired":
            rec = replace(rec, status=PolicyStatus.EXPIRED)
        elif name == "PolicyCancelled":
            rec = replace(rec, status=PolicyStatus.CANCELLED)
        elif name == "PolicyRenewed":
            rec = replace(rec, renewed_by=args["newPolicyId"])
        self.policies[pid] = rec

    def records(self, ids: Iterable[int]) -> tuple[list[int], list[tuple[Any, ...]]]:
        ids = list(ids)
        return ids, [self.policies[i].as_tuple() for i in ids]

    def check(self, book: Any, ids: Iterable[int]) -> list[int]:
        """Ids whose projected record does not hash to the stored one (should be empty)."""
        return [i for i in ids
                if book.functions.hashPolicy(self.policies[i].as_tuple()).call()
                != book.functions.policyHash(i).call()]

"""Which refusals of a report set are final, and which are worth another try.

A set is given up only when the chain refuses it for a reason that lies in the set itself and so
recurs whatever happens on-chain meanwhile: its signatures, its signers against its config
version (versions only grow, so a stale one stays stale), its windows — the revert table's
`PERMANENT` class. `AlreadyCovered` is not a refusal at all: the chain holds everything the set
says. Every other revert is retried with a backoff — among them `WindowInFuture` (the chain's
clock catches up), `NoConfig` and any revert the table does not know (an older oracle that
refused late windows, say: a late window must not be dropped, the cover it triggers would get
nothing; today's OutageOracle inserts it in order).
"""

from __future__ import annotations

from contracts.reverts import REFUSALS, Refusal, revert_type

ALREADY_COVERED = "OutageOracleWindowAlreadyCovered"
PERMANENT = frozenset(name for name, refusal in REFUSALS.items() if refusal is Refusal.PERMANENT)
# The `type` the relay (the cybercover service) answers for a decoded revert.
relay_type = revert_type


# Refusals by the relay itself: a body it cannot parse, a signature it cannot recover.
_RELAY_OWN = frozenset({"validation_error", "bad_signature"})
PERMANENT_RELAY_TYPES = frozenset(relay_type(n) for n in PERMANENT) | _RELAY_OWN
ALREADY_COVERED_TYPE = "already_covered"


def is_permanent_relay(status: int, type_: object) -> bool:
    return 400 <= status < 500 and type_ in PERMANENT_RELAY_TYPES

"""cybercover oracle node: probes covered services, votes per minute, keeps signed evidence,
signs outage reports and relays quorum sets of them to the OutageOracle contract.

`oracles` depends on `contracts` (EIP-712 types, Merkle trees) and never on `service`.
"""

import contracts  # noqa: F401 - first: it undoes py_ecc's import-time recursion limit

__version__ = "0.1.0"

"""The ledger package shared by the service and the oracle nodes.

`service` and `oracles` import it before anything else, so py_ecc (which eth-account imports and
which raises the recursion limit as an import side effect) is loaded here once and the limit put
back: importing any module of the three packages leaves the limit at its default.
"""

import py_ecc  # noqa: F401 - imported for its side effect, undone on the next line

from contracts.runtime import restore_recursion_limit

restore_recursion_limit()

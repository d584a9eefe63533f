"""cybercover policy service: the API, the payout worker and the `cybercover` command."""

import contracts  # noqa: F401 - first: it undoes py_ecc's import-time recursion limit

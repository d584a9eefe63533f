"""Process hygiene shared by every process: the recursion limit, bounded JSON, URL redaction."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from contracts.jsonguard import JsonLimitError, check_depth, loads
from contracts.redact import RedactingFormatter, describe, redact
from contracts.runtime import DEFAULT_RECURSION_LIMIT, create_private

IMPORT_ALL = """
import importlib, pkgutil, sys
for pkg in ("contracts", "oracles", "service"):
    module = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(module.__path__, pkg + "."):
        if info.name.endswith("__main__") or ".migrations." in info.name:
            continue
        importlib.import_module(info.name)
print(sys.getrecursionlimit())
"""


def test_finding3_importing_the_packages_leaves_the_recursion_limit_at_its_default() -> None:
    """py_ecc raises the limit to 100,000 on import; then deep JSON overflows the C stack."""
    out = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=120,
                         check=True)
    assert int(out.stdout.strip().splitlines()[-1]) == DEFAULT_RECURSION_LIMIT


def test_finding3_deep_json_is_refused_before_parsing() -> None:
    with pytest.raises(JsonLimitError) as exc:
        loads(b"[" * 200_000)
    assert exc.value.status == 400
    with pytest.raises(JsonLimitError) as exc:
        loads(b" " * (2 << 20), max_bytes=1 << 20)
    assert exc.value.status == 413
    document = {"a": [[{"b": "[[[[{{{{"}]]}  # brackets inside strings do not nest
    assert loads(json.dumps(document), max_depth=4) == document
    check_depth(b'["\\"[[[[[[[["]', 1)  # an escaped quote does not end the string
    with pytest.raises(JsonLimitError):
        check_depth(b"[[[", 2)
    check_depth(b'"' + b"\\" * 100_001, 1)  # an unterminated string: linear, no error of its own
    with pytest.raises(ValueError):
        loads(b"{not json")


def test_finding9_redaction_keeps_only_scheme_host_and_port() -> None:
    text = ("could not send the transaction: HTTPSConnectionPool(host='mainnet.example', port=443): "
            "Max retries exceeded with url: /v3/0123abcd (Caused by x); "
            "see https://user:pw@mainnet.example/v3/0123abcd?key=s3cret and http://127.0.0.1:8545")
    out = redact(text)
    for secret in ("0123abcd", "s3cret", "user", "pw@"):
        assert secret not in out
    assert "https://mainnet.example/[redacted]" in out
    assert "http://127.0.0.1:8545" in out
    assert describe(ConnectionError("http://rpc.example/key-1 refused")) == \
        "ConnectionError: http://rpc.example/[redacted] refused"
    try:
        raise OSError("https://rpc.example/v3/key-2 down")
    except OSError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed: %s", ("https://a.example/key-3",),
                                   sys.exc_info())
    line = RedactingFormatter("%(message)s").format(record)
    assert "key-2" not in line
    assert "key-3" not in line
    assert "OSError" in line


def test_a_secret_is_created_once_and_never_replaced(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "keys" / "admin.key"
    create_private(path, "first")
    create_private(path, "second")  # another process lost the race: the first value stays
    assert path.read_text() == "first"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["admin.key"]  # no temp file left

"""The demo's timings are counted in the deployment's verdict bucket (the same checks at 60 s and
at the e2e stacks' few seconds), and its loopback targets keep the port the OS gave them."""

from __future__ import annotations

import httpx
import pytest

from service.commands.demo import THRESHOLD, Target, next_boundary, threshold_for


@pytest.mark.parametrize("bucket", [4, 6, 10, 60, 3600])
def test_one_down_bucket_exceeds_the_threshold_and_half_of_one_does_not(bucket: int) -> None:
    assert threshold_for(bucket) < bucket
    assert 2 * threshold_for(bucket) <= bucket
    assert threshold_for(60) == THRESHOLD == 30


def test_next_boundary() -> None:
    assert next_boundary(120, 60) == 120
    assert next_boundary(121, 60) == 180
    assert next_boundary(1_700_000_001.5, 6) == 1_700_000_004
    assert next_boundary(1_700_000_004, 6) == 1_700_000_004


def test_a_target_keeps_its_port_across_down_and_up() -> None:
    target = Target()
    with pytest.raises(RuntimeError, match="no URL before its first up"):
        _ = target.url
    target.up()
    try:
        url = target.url
        assert httpx.get(url, timeout=5).text == "ok"
        target.down()
        with pytest.raises(httpx.TransportError):
            httpx.get(url, timeout=5)
        target.up()
        assert target.url == url
        assert httpx.get(url, timeout=5).status_code == 200
        assert target.hits == 2
    finally:
        target.down()

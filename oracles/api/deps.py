"""Request dependencies: the running node, injected with `Annotated[..., Depends]`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..node import OracleNode


def get_node(request: Request) -> OracleNode:
    node: OracleNode = request.app.state.node
    return node


NodeDep = Annotated[OracleNode, Depends(get_node)]

"""A worker pass that finishes what a dead issuing process left (service.domain.issue_intents):
owners of covers that reached the chain, "not issued" for covers whose nonce went elsewhere, and
the batches whose thread stopped. Safe on every replica at once: each cover is claimed once."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from service.chain.gateway import Gateway
from service.chain.indexer import Indexer
from service.domain import issue_intents

log = logging.getLogger(__name__)


class IssueReconciler:
    def __init__(self, gateway: Gateway, factory: sessionmaker[Session], indexer: Indexer, *,
                 stale_after: float = issue_intents.STALE_AFTER) -> None:
        self.gw = gateway
        self.factory = factory
        self.indexer = indexer
        self.stale_after = stale_after

    def run_once(self) -> issue_intents.Reconciled:
        return issue_intents.reconcile(self.factory, self.gw, self.indexer, stale_after=self.stale_after)

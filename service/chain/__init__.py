"""Chain access: the gateway (contracts + accounts), the one sender, the event indexer."""

"""Webhook subscriptions, the outbox and its delivery loop."""

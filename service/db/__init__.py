"""Persistence: models, engine/session setup and the shipped Alembic migrations."""

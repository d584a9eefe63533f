"""Alembic migrations, shipped in the package and applied by service.db.migrate."""

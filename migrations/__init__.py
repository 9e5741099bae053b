"""Alembic migrations (a package so that `pln-coach db upgrade` finds them when installed)."""

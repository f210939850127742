"""Alembic migration environment of the assistant's database."""

"""The fault suite: the real bot process killed and restarted under load."""

from tests.bot.conftest import redis_available  # noqa: F401 (the fixture, shared)

"""``app.log_setup``: the level from the settings, and every root handler scrubbing its lines."""

from __future__ import annotations

import io
import logging

import pytest

from app.log_setup import configure_logging
from bot.pii import ScrubbingFormatter
from services.settings import EnvSettings


def test_log_level_comes_from_the_settings_even_after_basic_config() -> None:
    root = logging.getLogger()
    before = root.level
    try:
        # The command line has already configured the root logger at INFO.
        logging.basicConfig(level=logging.INFO)
        configure_logging(EnvSettings(log_level=" warning ").log_level)
        assert root.level == logging.WARNING
        assert all(isinstance(h.formatter, ScrubbingFormatter) for h in root.handlers)
    finally:
        root.setLevel(before)
    with pytest.raises(ValueError, match="log_level"):
        EnvSettings(log_level="LOUD")


def test_a_handler_added_before_is_scrubbed_too() -> None:
    root = logging.getLogger()
    before = root.level
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        configure_logging(logging.INFO)
        configure_logging(logging.INFO)  # a second call leaves the scrubbing formatter in place
        assert isinstance(handler.formatter, ScrubbingFormatter)
        logging.getLogger("tests.app").info("user %s mobile %s", "6508124226", "09121234567")
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
    line = stream.getvalue()
    assert "650*****26" in line and "0912***4567" in line
    assert "6508124226" not in line and "09121234567" not in line
    assert " INFO tests.app: " in line

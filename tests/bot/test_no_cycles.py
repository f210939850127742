"""An update leaves no reference cycle behind: what it made is freed when it ends.

A cycle through an update's middleware data (once: ``data["answer_as"]``, a partial holding
``data``) kept the whole update — its session, its services, its messages, about fifty
objects — alive until a garbage collection, which then had to walk them all: a visible share
of the bot's CPU under load (the README's benchmark section, 2026-12-07, second entry).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.bot.conftest import MARYAM, Harness


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable while the test runs (gc.DEBUG_SAVEALL)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def ours(garbage: list[object]) -> list[str]:
    """The objects of this project's own types among ``garbage``."""
    return sorted(
        f"{type(o).__module__}.{type(o).__qualname__}"
        for o in garbage
        if type(o).__module__.split(".")[0] in {"bot", "services", "nlu", "persian"}
    )


async def test_an_answered_update_leaves_no_cycle(
    memory_harness: Harness, saved_garbage: list[object]
) -> None:
    chat = memory_harness.chat()
    # A verification (contact, national ID, the kept request answered) and then the kinds of
    # message the benchmark sends: personal, information, greeting, a menu button.
    await chat.verify(*MARYAM)
    for text in ("استحقاق درمان", "📄 آخرین سابقه", "شماره تماس ۱۴۲۰", "سلام"):
        assert chat.texts(await chat.send(text)), text
    gc.collect()
    assert ours(saved_garbage) == []

"""An update leaves no reference cycle behind: what it made is freed when it ends.

A cycle through an update's middleware data (once: ``data["answer_as"]``, a partial holding
``data``) kept the whole update — its session, its services, its messages, about fifty
objects — alive until a garbage collection, which then had to walk them all: a visible share
of the bot's CPU under load (the README's benchmark section, 2026-12-07, second entry).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest

from tests.bot.conftest import MARYAM, Harness


def _of_ours(o: object) -> bool:
    module = getattr(type(o), "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in {
        "bot",
        "services",
        "nlu",
        "persian",
    }


@pytest.fixture
def new_garbage() -> Iterator[Callable[[], list[str]]]:
    """A collection's finds (gc.DEBUG_SAVEALL) of the project's objects made since the test
    began, by type: those of an earlier test, freed late, are not this test's doing."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    before = {id(o) for o in gc.get_objects() if _of_ours(o)}

    def collect() -> list[str]:
        gc.collect()
        return sorted(
            f"{type(o).__module__}.{type(o).__qualname__}"
            for o in gc.garbage
            if _of_ours(o) and id(o) not in before
        )

    try:
        yield collect
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_an_answered_update_leaves_no_cycle(
    memory_harness: Harness, new_garbage: Callable[[], list[str]]
) -> None:
    chat = memory_harness.chat()
    # A verification (contact, national ID, the kept request answered) and then the kinds of
    # message the benchmark sends: personal, information, greeting, a menu button.
    await chat.verify(*MARYAM)
    for text in ("استحقاق درمان", "📄 آخرین سابقه", "شماره تماس ۱۴۲۰", "سلام"):
        assert chat.texts(await chat.send(text)), text
    assert new_garbage() == []

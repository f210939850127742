"""The bot's view of the NLU: menu labels skip the model, repeated texts are classified once."""

from __future__ import annotations

from typing import Any

import pytest

from bot import texts
from bot.nlu import Understander
from nlu import NluModel


class CountingModel:
    """The real model, counting how often it is asked."""

    def __init__(self, model: NluModel) -> None:
        self.model = model
        self.calls = 0

    def parse(self, text: str) -> Any:
        self.calls += 1
        return self.model.parse(text)


def test_menu_labels_skip_the_model_and_repeats_are_classified_once(
    nlu_model: NluModel,
) -> None:
    model = CountingModel(nlu_model)
    understand = Understander(model, texts.MENU, cache_size=2)
    label = next(iter(texts.MENU))
    assert understand(label).from_menu and model.calls == 0

    first = understand("پسرم بیمه داره؟")
    again = understand("پسرم بیمه داره؟")
    assert model.calls == 1
    assert again == first and first.intent == "check_eligibility"
    assert first.entity("relation") == "son"
    # The cached answer is shared: its entities cannot be changed by one reader.
    with pytest.raises(TypeError):
        first.entities[0]["value"] = "daughter"  # type: ignore[index]

    # Only the most recent distinct texts are kept.
    understand("سلام")
    understand("شماره تماس ۱۴۲۰")
    understand("پسرم بیمه داره؟")
    assert model.calls == 4

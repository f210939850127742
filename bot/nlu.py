"""The bot's view of the NLU: one ``Understanding`` per message, whatever the model returns.

Menu buttons are answered without the classifier (their label names the intent exactly); any
other text goes through the model once. The adapter here is the only place that knows the shape
of the NLU's parse result.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

logger = logging.getLogger(__name__)

OUT_OF_SCOPE = "out_of_scope"


class NluModel(Protocol):
    """What the bot needs from ``nlu``: ``parse(text)``."""

    def parse(self, text: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Understanding:
    """What a message means to the bot."""

    intent: str
    confidence: float
    entities: tuple[Mapping[str, Any], ...] = ()
    # The best intents, best first: (intent, confidence).
    ranking: tuple[tuple[str, float], ...] = ()
    ambiguous: bool = False
    # The model's best guess was too weak and the intent was set to out_of_scope.
    fallback: bool = False
    from_menu: bool = False
    # The message it was read from ("" for a button, or a request kept across verification).
    text: str = ""
    # How it continues the last answer ("" for a message read on its own; see bot.dialogue).
    follow_up: str = ""

    def entity(self, name: str) -> str | None:
        """Return the value of the first entity called ``name``, if any."""
        for item in self.entities:
            if item.get("entity") == name:
                return str(item.get("value"))
        return None

    @property
    def unsure(self) -> bool:
        """Whether the bot should ask "did you mean …?" rather than act."""
        return self.ambiguous or self.fallback


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _ranking(raw: Any) -> tuple[tuple[str, float], ...]:
    items: list[tuple[str, float]] = []
    for item in raw or ():
        if isinstance(item, Sequence) and not isinstance(item, str | Mapping):
            name, conf = item[0], item[1]
        else:
            name, conf = _get(item, "name") or _get(item, "intent"), _get(item, "confidence", 0)
        if name:
            items.append((str(name), float(conf or 0.0)))
    return tuple(items)


def to_understanding(result: Any, text: str = "") -> Understanding:
    """Adapt a parse result (object or Rasa-style dict) of ``text`` to an ``Understanding``."""
    intent = _get(result, "intent")
    confidence = _get(result, "confidence")
    if isinstance(intent, Mapping) or (intent is not None and not isinstance(intent, str)):
        confidence = _get(intent, "confidence", confidence)
        intent = _get(intent, "name")
    # Read-only: one Understanding may answer many identical messages (Understander's cache).
    entities = tuple(
        MappingProxyType(
            dict(e)
            if isinstance(e, Mapping)
            else (e.to_dict() if hasattr(e, "to_dict") else vars(e))
        )
        for e in (_get(result, "entities") or ())
    )
    ranking = _ranking(_get(result, "ranking") or _get(result, "intent_ranking"))
    return Understanding(
        intent=str(intent or OUT_OF_SCOPE),
        confidence=float(confidence or 0.0),
        entities=entities,
        ranking=ranking,
        ambiguous=bool(_get(result, "ambiguous", False)),
        fallback=bool(_get(result, "fallback", False)),
        text=text,
    )


class Understander:
    """Turn a message text into an ``Understanding`` (menu labels first, then the model).

    The model's answers are kept for the ``cache_size`` most recent distinct texts: people
    write the same short things again and again («سلام», «ممنون»), and the model is
    deterministic, so a repeated text costs a dictionary look-up instead of a classification.
    """

    def __init__(
        self, model: NluModel, menu: Mapping[str, str], *, cache_size: int = 4096
    ) -> None:
        self.model = model
        self.menu = dict(menu)
        self._understand = functools.lru_cache(maxsize=cache_size)(self._classify)

    def __call__(self, text: str) -> Understanding:
        intent = self.menu.get(text.strip())
        if intent is not None:
            return Understanding(intent=intent, confidence=1.0, from_menu=True, text=text)
        return self._understand(text)

    def _classify(self, text: str) -> Understanding:
        return to_understanding(self.model.parse(text), text)

"""Persian NLU of the assistant: a message in, its intent and entities out.

Knows nothing of Telegram, the database or the services; builds only on ``persian/``.

Public API (for the bot and anything else in-process)::

    from nlu import load_or_train, NluModel, ParseResult

    model: NluModel = load_or_train(settings.config.nlu)   # the config.yml ``nlu:`` section
    result: ParseResult = model.parse("سلام، بیمه پسرم فعاله؟")
    result.intent          # "check_eligibility" (one of INTENTS)
    result.confidence      # 0.0–1.0, calibrated
    result.entities        # (Entity(entity="relation", value="son", start=11, end=15), …)
    result.first("relation"), result.values("mobile")
    result.ranking         # (IntentScore(name, confidence), …) best first
    result.ambiguous       # top two intents too close: ask "did you mean …?" with ranking[:2]
    result.fallback        # confidence below the threshold, so the intent is out_of_scope
    result.to_rasa_dict()  # the JSON of Rasa's /model/parse (+ "ambiguous", "fallback")
    model.parse_batch(texts) -> list[ParseResult]

- ``load_or_train(settings_section=None, model_dir=None, *, force_train=False) -> NluModel``
  loads the model persisted under ``model_dir`` (default ``var/nlu-model/``), or trains and
  persists it (10–20 seconds) when it is missing, was written by other library versions or
  settings, or the data files changed since.
- ``NluModel.train(data, settings)``, ``model.persist(dir)``, ``NluModel.load(dir, settings)``:
  the Rasa-like component methods; ``NluSettings.from_section(section)`` merges a config
  section over the defaults.
- ``EntityExtractor`` (rule-based national_id, mobile, relation, ticket_id, date, amount in
  Rial, month: ``"1404-06"``, or ``"07"`` / ``"-3"`` for the bot to resolve against its clock
  with ``persian.jalali.resolve_month``; offsets into the original text) and ``Entity``.
- ``create_nlu_router(model) -> APIRouter`` / ``create_nlu_app(model) -> FastAPI`` in
  ``nlu.server`` serve ``POST /model/parse`` (imported from there, so that importing ``nlu``
  does not import FastAPI).

Command line: ``python -m nlu train | parse | evaluate | tune | lint | serve`` (see
``nlu.__main__``): ``evaluate`` reports the held-out split and the blind set side by side,
``tune`` chooses the out-of-scope threshold and ambiguity margin by cross-validation on the
training data, ``lint`` checks the training data.
"""

from typing import Final

from nlu.entities import ENTITY_NAMES, Entity, EntityExtractor
from nlu.model import (
    OUT_OF_SCOPE,
    IntentScore,
    ModelNotUsable,
    NluModel,
    ParseResult,
    load_or_train,
)
from nlu.settings import NluSettings

INTENTS: Final = (
    "check_eligibility",
    "last_contribution",
    "insurance_record",
    "family_list",
    "add_dependent",
    "file_complaint",
    "track_ticket",
    "pension_slip",
    "human_agent",
    "voluntary_insurance",
    "eservices_registration",
    "booklet_renewal",
    "contact_info",
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "help",
    "out_of_scope",
)

__all__ = [
    "ENTITY_NAMES",
    "INTENTS",
    "OUT_OF_SCOPE",
    "Entity",
    "EntityExtractor",
    "IntentScore",
    "ModelNotUsable",
    "NluModel",
    "NluSettings",
    "ParseResult",
    "load_or_train",
]

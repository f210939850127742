"""The NLU component's settings: defaults merged with the ``nlu:`` section of ``config.yml``.

Like a Rasa component, the component declares its defaults here and the deployment overrides
only what it needs. Unknown keys are an error (a typo would otherwise be silently ignored).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DEFAULT_DATA_DIR = PACKAGE_DIR / "data"
DEFAULT_TEST_DIR = DEFAULT_DATA_DIR / "test"
# The blind test set, written by someone who never read the training data: evaluated beside the
# held-out split (the files directly in test/), never trained or tuned on.
DEFAULT_BLIND_DIR = DEFAULT_TEST_DIR / "blind"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "var" / "nlu-model"
DEFAULT_REPORT_DIR = PROJECT_ROOT / "var" / "nlu-report"
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config.yml"


class NluSettings(BaseModel):
    """Every knob of the NLU component, with its default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Where the trained model lives; relative paths are taken from the project root.
    model_dir: str = "var/nlu-model"
    # Training data files or folders (Rasa 3 YAML); folders are read without their test/ split.
    data: tuple[str, ...] = ("nlu/data",)
    # Character n-grams inside word boundaries survive typos, missing half-spaces and Finglish
    # spelling variants; word n-grams add the phrase-level signal.
    char_ngram_min: int = Field(2, ge=1)
    char_ngram_max: int = Field(4, ge=1)
    word_ngram_max: int = Field(2, ge=1)
    # Character n-grams 2…this of the consonant skeleton shared by Finglish and Persian script
    # (nlu.features.skeleton); 0 leaves them out.
    skeleton_ngram_max: int = Field(4, ge=0)
    # The linear model: "svm" (LinearSVC calibrated with Platt scaling) or "logreg".
    classifier: Literal["svm", "logreg"] = "svm"
    regularization_c: float = Field(1.0, gt=0)
    calibration_folds: int = Field(5, ge=2)
    # False: one SVM on all data, calibrated on cross-validated predictions (one model to store
    # and evaluate); True: an average of one calibrated SVM per fold.
    calibration_ensemble: bool = False
    # Class weights (n / (classes × n_class)) ** this: 0 none, 1 scikit-learn's "balanced". The
    # out_of_scope class is many times the size of an intent, so this sets how far it is damped.
    class_weight_power: float = Field(0.0, ge=0, le=1)
    # The in-domain / out-of-scope gate (nlu.classifier.fit_gate): "logreg" or "none"; its
    # inverse regularisation and whether its two sides weigh the same whatever their counts.
    # (The defaults are config.yml's values, chosen there by cross-validation.)
    gate_classifier: Literal["none", "logreg"] = "logreg"
    gate_regularization_c: float = Field(10.0, gt=0)
    gate_balanced: bool = False
    # Out-of-scope data files (by name) whose lines the gate counts as about Tamin: rule
    # questions that no intent serves, which the knowledge base answers.
    gate_tamin_files: tuple[str, ...] = ("tamin_rules.yml",)
    # Below this gate probability of being in-domain a message is out_of_scope, whatever the
    # intent classifier's confidence (0 turns the gate off at answer time).
    gate_threshold: float = Field(0.17, ge=0, le=1)
    # Share of domain examples added again behind a greeting («سلام، …»), see nlu.model.
    greeting_augmentation: float = Field(0.3, ge=0, le=1)
    # A long message's end (nlu.features.tail_text: its last clauses, at least tail_min_words
    # words, in a message of at least tail_min_message_words) is scored too, and its intent
    # probabilities and gate probability weigh this much against the whole message's (0: off).
    # Chosen by `python -m nlu tune` with the thresholds; it changes answers, not training.
    tail_weight: float = Field(0.35, ge=0, le=1)
    tail_min_words: int = Field(4, ge=1)
    tail_min_message_words: int = Field(8, ge=2)
    # Below this top confidence the message is treated as out_of_scope.
    out_of_scope_threshold: float = Field(0.27, ge=0, le=1)
    # The out_of_scope class is ranked with this much taken off its probability
    # (nlu.model.decide): an intent behind it by less is answered, if it passes the threshold
    # and the gate. Chosen by `python -m nlu tune` with the thresholds; 0 turns it off.
    out_of_scope_bias: float = Field(0.02, ge=0, le=1)
    # When the top two intents are closer than this, the result is flagged ambiguous.
    ambiguity_margin: float = Field(0.16, ge=0, le=1)
    # How many intents intent_ranking lists (Rasa's ranking_length).
    ranking_length: int = Field(10, ge=1)
    random_state: int = 42
    # `python -m nlu tune`: folds of the cross-validation on the training data, and the bar the
    # threshold must meet there (out-of-scope lines rejected, in-domain lines wrongly rejected).
    tune_folds: int = Field(5, ge=2)
    # The cross-validation is repeated with this many shuffles (seeds random_state, +1, …) and
    # the values are chosen on all the repeats' rows together: one shuffle's choice moves with it.
    tune_repeats: int = Field(5, ge=1)
    tune_min_oos_rejection: float = Field(0.97, ge=0, le=1)
    tune_max_false_rejection: float = Field(0.02, ge=0, le=1)
    # A value counts as meeting the two bounds above only with this much to spare on each.
    tune_bound_margin: float = Field(0.005, ge=0, le=0.5)
    # The accuracy bar: where no value meets the two bounds, tune weighs each kind of error by
    # what its bar allows (nlu.tune.bound_cost), an in-domain line answered with another intent
    # by 1 − this.
    tune_min_accuracy: float = Field(0.95, ge=0, le=1)
    # The ambiguity margin flags at most this share of correct in-domain answers.
    tune_max_ambiguous_correct: float = Field(0.03, ge=0, le=1)
    # `python -m nlu lint`: the least examples per intent, and the longest line the bot reads.
    min_examples_domain: int = Field(250, ge=0)
    min_examples_small_talk: int = Field(80, ge=0)
    min_examples_out_of_scope: int = Field(2000, ge=0)
    max_example_length: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _check_ranges(self) -> NluSettings:
        if self.char_ngram_min > self.char_ngram_max:
            raise ValueError("char_ngram_min must not exceed char_ngram_max")
        return self

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None = None) -> NluSettings:
        """Merge a ``config.yml`` ``nlu:`` section over the defaults."""
        values = dict(section or {})
        if isinstance(values.get("data"), str):
            values["data"] = (values["data"],)
        return cls.model_validate(values)

    def resolve(self, path: str) -> Path:
        """Return ``path`` as an absolute path, relative ones taken from the project root."""
        p = Path(path)
        return p if p.is_absolute() else PROJECT_ROOT / p

    @property
    def model_path(self) -> Path:
        return self.resolve(self.model_dir)

    @property
    def data_paths(self) -> list[Path]:
        return [self.resolve(p) for p in self.data]

    def fingerprint_fields(self) -> dict[str, Any]:
        """The settings that change what training produces (not where it is stored)."""
        return self.model_dump(
            mode="json",
            exclude={
                "model_dir",
                "data",
                "out_of_scope_threshold",
                "out_of_scope_bias",
                "gate_threshold",
                "ambiguity_margin",
                "tail_weight",
                "tail_min_words",
                "tail_min_message_words",
                "ranking_length",
                "tune_folds",
                "tune_repeats",
                "tune_bound_margin",
                "tune_min_accuracy",
                "tune_min_oos_rejection",
                "tune_max_false_rejection",
                "tune_max_ambiguous_correct",
                "min_examples_domain",
                "min_examples_small_talk",
                "min_examples_out_of_scope",
                "max_example_length",
            },
        )


def read_config_section(config_path: Path | None = None) -> dict[str, Any]:
    """Return the ``nlu:`` section of ``config.yml`` (empty when the file or section is absent)."""
    path = config_path or DEFAULT_CONFIG_PATH
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh) or {}
    section = loaded.get("nlu") if isinstance(loaded, dict) else None
    return dict(section) if isinstance(section, dict) else {}

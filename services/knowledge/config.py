"""Settings of the knowledge base: where the entries live and how retrieval decides.

:class:`KnowledgeConfig` is the ``knowledge`` section of the settings root (``config.yml``); a
relative path there is taken from the project's root, so the bot and the console find the same
folder from any working directory.

The defaults below were chosen on 2026-12-06 by ``python -m services.knowledge.tune`` on 150
approved entries (1 660 variants), 5-fold over the variants, with the 2 774 distinct out-of-scope
training lines of the NLU (``rejection_files``; never ``nlu/data/test/``) as negatives, 5-fold
too (a line never rejects itself). At these defaults, of all held-out variants: right entry
first 69.0 % (first two 81.6 %), right and confident 63.9 %, wrong yet confident 24.0 %;
negatives rejected 97.0 % (96.9 % with the threshold chosen on the other folds); the NLU's 155
Tamin rule questions, written apart from the entries, 86.5 % answered. Without the rejection
lines the same bar left 48.3 % right and confident, 11.7 % wrong (and 68.4 % of the rule
questions answered). Rejecting 95 % instead: 65.4 % right and confident, 88.4 % of the rule
questions; 99 %: 55.8 % and 78.1 %.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_DIRECTORY = PROJECT_ROOT / "knowledge"
_NLU_DATA = PROJECT_ROOT / "nlu" / "data"
# The NLU's out-of-scope training lines, less its Tamin rule questions (out_of_scope/
# tamin_rules.yml), which are the knowledge base's to answer.
DEFAULT_REJECTION_FILES = (
    _NLU_DATA / "out_of_scope.yml",
    _NLU_DATA / "out_of_scope" / "general.yml",
    _NLU_DATA / "out_of_scope" / "hard_negatives.yml",
)


class KnowledgeConfig(BaseModel):
    """How the knowledge base is loaded and searched; frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The folder of entries, one YAML file per entry under a folder per area.
    directory: Path = DEFAULT_DIRECTORY
    # Seconds between two reads of the edits' version counter by one process: an entry edited
    # in the console is served by every worker at most this long after it was saved.
    refresh_seconds: float = Field(5.0, ge=0.0)
    # Two collected questions are one group on the console's feedback page when the cosine of
    # their character n-gram counts (the retrieval's char view) reaches this: rewordings of one
    # question share most of their n-grams, two questions on one topic far fewer.
    feedback_similarity: float = Field(0.5, gt=0.0, le=1.0)
    # Questions that are not the knowledge base's (other organisations, general knowledge):
    # Rasa-format files whose out_of_scope lines are indexed as one "not ours" class.
    rejection_files: tuple[Path, ...] = DEFAULT_REJECTION_FILES
    # A question's confidence is its best entry's score less this times its best rejection
    # line's score; 0 ignores the rejection lines. Tuned among 0, 0.5, 1 and 1.5: right and
    # confident 48.3, 56.1, 62.2 and 63.9 %, wrong yet confident 11.7, 16.3, 22.0 and 24.0 %.
    rejection_weight: float = Field(1.5, ge=0.0)
    # A question whose confidence (best entry's score less the rejection term) reaches this is
    # answered: the lowest that rejects 97 % of the out-of-scope training lines (tuned, above).
    threshold: float = 0.017
    # The top two entries closer than this are both offered ("did you mean …"): the smallest
    # margin within 0.01 of the best utility (right +1, wrong −1, the right one among two
    # offered +0.5, neither −0.5); 37.4 % of confident held-out variants are then ambiguous.
    ambiguity_margin: float = Field(0.11, ge=0.0)
    # How many entries a search returns at most.
    top_k: int = Field(3, ge=2)
    # BM25's term-frequency saturation; the usual value.
    bm25_k1: float = Field(1.2, gt=0.0)
    # BM25's length normalisation of variants: 0.3 did better than the usual 0.75 (+4–6 points
    # of held-out variants answered right), since a long variant is a story, not a diluted one.
    bm25_b: float = Field(0.3, ge=0.0, le=1.0)
    # A token no variant holds counts against the question as this many times the rarest one's
    # idf: words the knowledge base has never seen («یارانه», «بانک») are what gives away a
    # question about another organisation (2 did better than 1 by 2–4 points).
    unseen_weight: float = Field(2.0, gt=0.0)
    # Whether an entry's title is searched as one more of its question variants (+3 points).
    index_titles: bool = True
    # How much the share of the matching variant that the question covers counts, against the
    # share of the question that the variant covers (0: only the latter; see Bm25.scores).
    # 0.3 keeps one-word questions from fully matching longer variants (+4–6 points).
    document_share: float = Field(0.3, ge=0.0, le=1.0)
    # Weight of the entry's score as one document (all its variants together) against its best
    # variant's score; 0 scores an entry by its best variant alone (right first 69.0 % at 1,
    # 67.1 % at 0.5, 58.3 % at 0).
    entry_weight: float = Field(1.0, ge=0.0)
    # Weights of the three views of a question in the combined score (normalised to sum 1):
    # whole words, character n-grams within words (typos, half-spaces) and the consonant
    # skeleton's n-grams (Finglish written against Persian variants).
    word_weight: float = Field(0.3, ge=0.0)
    char_weight: float = Field(0.4, ge=0.0)
    skeleton_weight: float = Field(0.3, ge=0.0)

    @field_validator("directory")
    @classmethod
    def _directory_from_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else PROJECT_ROOT / value

    @field_validator("rejection_files")
    @classmethod
    def _files_from_root(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(p if p.is_absolute() else PROJECT_ROOT / p for p in value)

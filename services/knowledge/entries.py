"""The knowledge base's entries: their schema, and loading and validating the folder of them.

One YAML file per entry, ``knowledge/<area>/<id>.yml``. Everything is checked at start and every
problem is collected, so one :class:`KnowledgeBaseError` lists them all, each naming its file:
a person fixing the folder sees the whole list at once instead of one error per restart.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from persian import normalize, to_ascii_digits
from persian.jalali import from_jalali

# libyaml's loader when PyYAML was built with it: the same documents, read several times faster.
_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Status = Literal["draft", "approved", "retired"]
STATUSES: tuple[Status, ...] = ("draft", "approved", "retired")

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# At most 48 characters: the bot's buttons carry the id within Telegram's 64-byte callback data.
EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=48)]

# The address of a public page, or of one of the seed documents shipped in shared/sources/.
_URL = re.compile(r"^(?:https?://\S+|shared/sources/\S+)$")
# A document's date as written on it: year, or year and month, or a full date; a year 13xx or
# 14xx is Jalali (Tamin's own documents), 19xx or 20xx Gregorian (most web pages).
_DOCUMENT_DATE = re.compile(r"^(\d{4})(?:[-/](\d{1,2})(?:[-/](\d{1,2}))?)?$")
# What a web page that carries no date is cited with: said in words rather than guessed.
UNDATED = "بدون تاریخ"


def _check_document_date(text: str) -> str:
    if normalize(text) == UNDATED:
        return text
    match = _DOCUMENT_DATE.match(to_ascii_digits(text))
    if match is None:
        raise ValueError(
            f"expected YYYY, YYYY-MM or YYYY-MM-DD (Jalali or Gregorian) or «{UNDATED}»"
        )
    year = int(match.group(1))
    month = int(match.group(2) or 1)
    day = int(match.group(3) or 1)
    if 1300 <= year < 1500:
        from_jalali(year, month, day)  # raises ValueError on an impossible date
    elif 1900 <= year < 2100:
        dt.date(year, month, day)
    else:
        raise ValueError(f"year {year} is neither a Jalali nor a Gregorian year of this era")
    return text


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Source(_Frozen):
    """Where an entry's rule comes from, shown to the user in one short line."""

    title: Text
    clause: Text
    date: Text
    url: Text

    @field_validator("date", mode="before")
    @classmethod
    def _date_as_written(cls, value: object) -> object:
        # YAML reads an unquoted ISO date as a date; the schema keeps it as written.
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    @field_validator("date")
    @classmethod
    def _valid_date(cls, value: str) -> str:
        return _check_document_date(value)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError("expected an http(s) address or shared/sources/<file>")
        return value


class Entry(_Frozen):
    """One topic: the ways people ask it, the short answer that leads with the fact, its source."""

    id: EntryId
    title: Text
    status: Status
    tags: tuple[Text, ...]
    questions: tuple[Text, ...] = Field(min_length=1)
    answer: Text
    more: Text | None = None
    source: Source
    valid_from: dt.date
    review_by: dt.date
    uncertain: bool

    @model_validator(mode="after")
    def _review_after_start(self) -> Entry:
        if self.review_by <= self.valid_from:
            raise ValueError("review_by must come after valid_from")
        return self

    @property
    def served(self) -> bool:
        """Whether the assistant may answer with this entry (drafts and retired ones are not)."""
        return self.status == "approved"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one file."""

    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


class KnowledgeBaseError(Exception):
    """The entries cannot be served as they are; :attr:`problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"- {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the knowledge base:\n{lines}")


def _validation_messages(error: ValidationError) -> list[str]:
    messages = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in item["loc"]) or "entry"
        messages.append(f"{where}: {item['msg']}")
    return messages


def parse_entry(data: Mapping[str, Any], origin: str) -> Entry:
    """Validate one entry read from anywhere (a file, later a database row).

    Raises :class:`KnowledgeBaseError` naming ``origin`` with every problem of the entry.
    """
    try:
        return Entry.model_validate(dict(data))
    except ValidationError as error:
        problems = [Problem(origin, m) for m in _validation_messages(error)]
        raise KnowledgeBaseError(problems) from None


def _read_file(path: Path, origin: str) -> Entry:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeBaseError([Problem(origin, f"cannot be read: {error}")]) from None
    try:
        data = yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise KnowledgeBaseError([Problem(origin, f"is not valid YAML: {detail}")]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise KnowledgeBaseError([Problem(origin, f"must hold one mapping (it is {kind})")])
    entry = parse_entry(data, origin)
    if entry.id != path.stem:
        message = f"id {entry.id!r} is not the file name {path.stem!r}"
        raise KnowledgeBaseError([Problem(origin, message)])
    return entry


def check_unique(entries: Iterable[tuple[Entry, str]]) -> list[Problem]:
    """Return a problem for every id used by more than one entry, naming every place it is."""
    seen: dict[str, list[str]] = {}
    for entry, origin in entries:
        seen.setdefault(entry.id, []).append(origin)
    problems = []
    for entry_id, origins in seen.items():
        if len(origins) > 1:
            for origin in origins:
                others = ", ".join(o for o in origins if o != origin)
                problems.append(Problem(origin, f"duplicate id {entry_id!r} (also in {others})"))
    return problems


@dataclass(frozen=True, slots=True)
class LoadedEntries:
    """Every entry of the folder, in file order, with the file each came from."""

    entries: tuple[Entry, ...]
    origins: Mapping[str, str]

    def counts(self) -> dict[Status, int]:
        """How many entries there are of each status (drafts and retired ones included)."""
        counted = Counter(e.status for e in self.entries)
        return {status: counted.get(status, 0) for status in STATUSES}


def load_entries(directory: Path) -> LoadedEntries:
    """Load and validate every ``*.yml`` under ``directory``.

    Raises :class:`KnowledgeBaseError` listing every problem of every file (bad YAML, missing or
    unknown keys, empty values, bad status or dates, an id that is not the file name, duplicate
    ids), each naming the file relative to ``directory``'s parent.
    """
    if not directory.is_dir():
        raise KnowledgeBaseError([Problem(str(directory), "is not a folder")])
    base = directory.parent
    problems: list[Problem] = []
    loaded: list[tuple[Entry, str]] = []
    for path in sorted(directory.rglob("*.yaml")):
        # Read by nothing: said rather than silently left out of the knowledge base.
        problems.append(Problem(str(path.relative_to(base)), "entries end in .yml, not .yaml"))
    for path in sorted(directory.rglob("*.yml")):
        origin = str(path.relative_to(base))
        try:
            loaded.append((_read_file(path, origin), origin))
        except KnowledgeBaseError as error:
            problems.extend(error.problems)
    problems.extend(check_unique(loaded))
    if problems:
        raise KnowledgeBaseError(problems)
    return LoadedEntries(entries=tuple(e for e, _ in loaded), origins={e.id: o for e, o in loaded})

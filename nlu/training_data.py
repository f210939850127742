"""Reading NLU data written in Rasa 3 YAML: intents with annotated examples, synonyms, lookups.

The format is Rasa's (``version: "3.1"``, an ``nlu:`` list of ``intent``/``synonym``/``lookup``/
``regex`` blocks whose ``examples`` are a block string of ``- `` lines), so the files can be
checked with Rasa's own tooling. Entities are annotated as ``[text](entity)`` or, when the value
differs from the text, ``[text]{"entity": "…", "value": "…"}``. Like Rasa's reader, a malformed
block is reported with its file and intent and skipped rather than failing the whole file.

Rasa 3's metadata is read too: a block's ``metadata: {style: finglish}`` applies to its examples,
and ``examples`` may be a list of ``{text, metadata}`` items whose own metadata overrides the
block's. The ``style`` key (finglish, long, typo, hard_negative…) lets the evaluation report
accuracy by the way a message was written.

Test sets live in ``test/`` folders; training never reads a file under a folder of that name,
however deep, so the held-out split and the blind set (``test/blind/``) cannot leak in.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import yaml

from nlu.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

# `[text](entity)`, `[text](entity:value)` (Rasa 1 shorthand) or `[text]{"entity": …}`.
_ANNOTATION = re.compile(r"\[(?P<text>[^\]\[]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]+\}))")
_BLOCK_KEYS = ("intent", "synonym", "lookup", "regex")


@dataclass(frozen=True, slots=True)
class AnnotatedEntity:
    """An entity annotation: offsets into the example's plain text."""

    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    """One training or test message with its intent and entity annotations."""

    text: str
    intent: str
    entities: tuple[AnnotatedEntity, ...] = ()
    source: str = ""
    # How the message was written (the test sets' ``metadata.style``); "" when untagged.
    style: str = ""


@dataclass(slots=True)
class TrainingData:
    """Everything the data files hold."""

    examples: list[Example] = field(default_factory=list)
    # surface form → canonical value (Rasa's entity synonyms)
    synonyms: dict[str, str] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})

    def by_intent(self) -> dict[str, list[Example]]:
        grouped: dict[str, list[Example]] = {}
        for example in self.examples:
            grouped.setdefault(example.intent, []).append(example)
        return grouped

    def resolve_synonyms(self) -> None:
        """Give annotations whose value is their text the synonym's canonical value, as Rasa's
        synonym mapper does (synonyms may be declared in another file than the examples)."""
        resolved: list[Example] = []
        for example in self.examples:
            entities = tuple(
                replace(a, value=self.synonyms.get(a.value, a.value))
                if a.value == example.text[a.start : a.end]
                else a
                for a in example.entities
            )
            resolved.append(replace(example, entities=entities))
        self.examples = resolved

    def merge(self, other: TrainingData) -> None:
        self.examples.extend(other.examples)
        self.synonyms.update(other.synonyms)
        for name, items in other.lookups.items():
            self.lookups.setdefault(name, []).extend(items)
        for name, items in other.regexes.items():
            self.regexes.setdefault(name, []).extend(items)


class DataFormatError(ValueError):
    """A data file is not Rasa NLU YAML at all (not just one bad block)."""


def parse_annotated(line: str, synonyms: dict[str, str] | None = None) -> Example:
    """Strip Rasa entity annotations from ``line``; return the plain text and the entities.

    A ``[text](entity)`` annotation takes its value from the synonyms (as Rasa does) or else
    from the text itself.
    """
    parts: list[str] = []
    entities: list[AnnotatedEntity] = []
    pos = 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        before = line[pos : match.start()]
        parts.append(before)
        length += len(before)
        text = match.group("text")
        if match.group("json"):
            spec = json.loads(match.group("json"))
            if not isinstance(spec, dict) or "entity" not in spec:
                raise ValueError(f"entity annotation without an entity name: {match.group(0)}")
            name = str(spec["entity"])
            value = str(spec.get("value", text))
        else:
            name, _, explicit = match.group("short").partition(":")
            value = explicit or text
        if synonyms and value == text:
            value = synonyms.get(text, value)
        entities.append(AnnotatedEntity(name.strip(), value, length, length + len(text)))
        parts.append(text)
        length += len(text)
        pos = match.end()
    parts.append(line[pos:])
    return Example(text="".join(parts), intent="", entities=tuple(entities))


def _style(metadata: Any, default: str = "") -> str:
    if isinstance(metadata, dict) and metadata.get("style") is not None:
        return str(metadata["style"]).strip()
    return default


def _example_lines(block: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The block's ``(line, style)`` pairs, or ``None`` when ``examples`` is malformed."""
    block_style = _style(block.get("metadata"))
    examples = block.get("examples")
    lines: list[tuple[str, str]] = []
    if isinstance(examples, list):
        # Rasa 3's long form: ``- text: …`` items, each with optional ``metadata``.
        for item in examples:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                return None
            text = item["text"].strip()
            if text:
                lines.append((text, _style(item.get("metadata"), block_style)))
        return lines
    if not isinstance(examples, str):
        return None
    for raw in examples.splitlines():
        stripped = raw.strip()
        if not stripped:
            continue
        if not stripped.startswith("- "):
            return None
        lines.append((stripped[2:].strip(), block_style))
    return lines


def read_yaml_file(path: Path) -> TrainingData:
    """Read one Rasa NLU YAML file, warning about (and skipping) malformed blocks."""
    with path.open(encoding="utf-8") as fh:
        loaded = yaml.safe_load(fh)
    if loaded is None:
        return TrainingData()
    if not isinstance(loaded, dict) or not isinstance(loaded.get("nlu", []), list):
        raise DataFormatError(f"{path}: expected a mapping with an 'nlu' list")
    data = TrainingData()
    pending: list[tuple[str, list[tuple[str, str]]]] = []
    for number, block in enumerate(loaded.get("nlu") or [], start=1):
        kinds = [k for k in _BLOCK_KEYS if isinstance(block, dict) and k in block]
        if len(kinds) != 1:
            logger.warning(
                "%s: block %s has none or several of %s; skipped", path, number, _BLOCK_KEYS
            )
            continue
        assert isinstance(block, dict)
        kind = kinds[0]
        name = str(block[kind]).strip()
        lines = _example_lines(block)
        if not name or lines is None:
            logger.warning(
                "%s: %s %r: 'examples' must be a block string of '- ' lines; skipped",
                path,
                kind,
                name,
            )
            continue
        if kind == "intent":
            pending.append((name, lines))
        elif kind == "synonym":
            for surface, _ in lines:
                data.synonyms[surface] = name
        elif kind == "lookup":
            data.lookups.setdefault(name, []).extend(line for line, _ in lines)
        else:
            data.regexes.setdefault(name, []).extend(line for line, _ in lines)
    # Intents are read last so that annotations resolve synonyms declared anywhere in the file.
    for intent, lines in pending:
        for line, style in lines:
            try:
                parsed = parse_annotated(line, data.synonyms)
            except ValueError as exc:
                logger.warning(
                    "%s: intent %r: bad example %r (%s); skipped", path, intent, line, exc
                )
                continue
            data.examples.append(
                Example(
                    parsed.text,
                    intent,
                    parsed.entities,
                    source=f"{path.name}:{intent}",
                    style=style,
                )
            )
    return data


TEST_FOLDER: Final = "test"


def _project_parts(path: Path) -> tuple[str, ...]:
    """The parts of ``path`` inside the project (all of them for a path outside it): a
    checkout that happens to live under some ``test`` folder must still train."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT).parts
    except ValueError:
        return path.parts


def iter_data_files(paths: Iterable[Path], *, include_test: bool = False) -> Iterator[Path]:
    """Yield the YAML files under ``paths`` in a stable order.

    Without ``include_test``, files under a ``test/`` folder at any depth below a given folder
    are left out, and so is a given file or folder that itself lies inside one: training must
    never see a test set, whichever path the configuration names.
    """
    for path in paths:
        if not include_test and TEST_FOLDER in _project_parts(path):
            logger.warning("%s is inside a %s/ folder: not read for training", path, TEST_FOLDER)
            continue
        if path.is_dir():
            for file in sorted(path.rglob("*.yml")) + sorted(path.rglob("*.yaml")):
                rel = file.relative_to(path).parts
                if not include_test and TEST_FOLDER in rel[:-1]:
                    continue
                yield file
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(path)


def load_training_data(paths: Iterable[Path], *, include_test: bool = False) -> TrainingData:
    """Read and merge every data file under ``paths``, resolving synonyms across files."""
    data = TrainingData()
    for file in iter_data_files(paths, include_test=include_test):
        data.merge(read_yaml_file(file))
    data.resolve_synonyms()
    return data


def data_fingerprint(paths: Iterable[Path], extra: dict[str, Any] | None = None) -> str:
    """Return a SHA-256 over the data files' names and bytes (and ``extra`` settings)."""
    digest = hashlib.sha256()
    for file in iter_data_files(paths):
        digest.update(file.name.encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    if extra:
        digest.update(json.dumps(extra, sort_keys=True).encode())
    return digest.hexdigest()

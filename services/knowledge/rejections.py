"""Questions the knowledge base must not answer, read from the NLU's out-of-scope training lines.

They are indexed like variants of one "not ours" class: a question that is closer to one of them
than to any entry («فیش حقوقی بانک», «بیمه بدنه ماشین») loses confidence by that much (see
``KnowledgeConfig.rejection_weight``). The lines are read as plain YAML files in Rasa's format;
nothing of ``nlu/`` is imported. The Tamin rule questions that the NLU keeps apart
(``out_of_scope/tamin_rules.yml``) are the knowledge base's to answer and are left out of the
default files (``KnowledgeConfig.rejection_files``); anything under a ``test/`` folder (the
held-out sets) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from services.knowledge.entries import KnowledgeBaseError, Problem


def read_out_of_scope(paths: Iterable[Path]) -> list[str]:
    """Every ``out_of_scope`` example line of Rasa-format YAML files, read as plain YAML."""
    lines: list[str] = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []) or []:
            if not isinstance(block, dict) or block.get("intent") != "out_of_scope":
                continue
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip().removeprefix("-").strip()
                if text:
                    lines.append(text)
    return lines


def load_rejections(paths: Sequence[Path]) -> tuple[str, ...]:
    """Read the rejection examples; raise :class:`KnowledgeBaseError` naming every bad file."""
    problems: list[Problem] = []
    lines: list[str] = []
    for path in paths:
        if "test" in path.parts:
            problems.append(Problem(str(path), "held-out test data is never read"))
            continue
        try:
            read = read_out_of_scope([path])
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError) as error:
            detail = " ".join(str(error).split())
            problems.append(Problem(str(path), f"cannot be read as out-of-scope lines: {detail}"))
            continue
        if not read:
            problems.append(Problem(str(path), "holds no out_of_scope example"))
        lines.extend(read)
    if problems:
        raise KnowledgeBaseError(problems)
    return tuple(dict.fromkeys(lines))

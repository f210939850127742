"""A message of several requests, cut into them («… فعاله؟ آخرین پرداختم کی بوده؟»).

People write two questions at once. :func:`request_parts` cuts a message at question marks,
line breaks, «همچنین», «هم … هم», «و» and (clauses all read surely) commas; it is several
requests only when each part is understood confidently as a different task (up to
``dialogue.max_requests_per_message``). The intent router answers each in turn
(``bot.handlers.common``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from bot.acts import correlative_parts
from bot.dialogue import SMALLTALK
from bot.nlu import OUT_OF_SCOPE, Understanding

# Where a message of several requests is cut: question marks, line breaks, «همچنین», and
# «و» between two words (tried last: it also joins the parts of one request).
_HARD_SPLIT = re.compile(r"[?؟\n]+|(?:^|\s)همچنین(?:\s|$)|(?:^|\s)(?:و )?یه سوال دیگه")
# A comma joins the clauses of one story far more often than two requests («دو بار رفتم شعبه،
# هر بار گفتن فردا بیا», «من پیرمردم سر در نمیارم، بیمه خانمم هست؟»): it cuts a piece only
# when every clause is a greeting or a request read at least this surely, and two or more are
# requests («فیش این ماهمو بفرست، … خانمم بیمه داره؟»: 0.97 and 0.92; the stories' clauses
# read 0.5–0.85).
_COMMA_SPLIT = re.compile(r"[،,]+")
SURE_COMMA_PART: Final = 0.88
_AND_SPLIT = re.compile(r"\s+و\s+")


def _comma_requests(
    piece: str,
    understand: Callable[[str], Understanding],
    is_task: Callable[[Understanding], bool],
) -> list[Understanding]:
    """The requests of a piece cut at its commas, when each clause is one (``SURE_COMMA_PART``)."""
    clauses = [c.strip(" .!") for c in _COMMA_SPLIT.split(piece)]
    if len([c for c in clauses if c]) < 2:
        return []
    tasks: list[Understanding] = []
    for clause in filter(None, clauses):
        reading = understand(clause)
        if is_task(reading) and reading.confidence >= SURE_COMMA_PART:
            tasks.append(reading)
        elif reading.unsure or reading.intent not in SMALLTALK:
            return []  # a clause of a story: the piece is read whole
    return tasks if len(tasks) >= 2 else []


def request_parts(
    text: str,
    understand: Callable[[str], Understanding],
    *,
    limit: int,
    is_task: Callable[[Understanding], bool],
) -> list[Understanding]:
    """The requests of a message that asks several things, in the order written; [] for one.

    Cut at question marks, line breaks and «همچنین» first; a part that is only a greeting or a
    preamble («سلام دو تا سوال داشتم») is dropped. Then each remaining part may be cut at its
    commas when every clause is a sure request or a greeting (``_comma_requests``), or at «و»
    when both halves are tasks. It is several requests only when at least two parts are
    understood confidently (``is_task``) as different intents; the first ``limit`` are kept.
    """
    if len(text) < 8:
        return []
    pieces = [p.strip(" ،,.!") for p in _HARD_SPLIT.split(text)]
    found: list[Understanding] = []
    for piece in pieces:
        if not piece:
            continue
        correlated = [understand(p) for p in correlative_parts(piece)]
        if len(correlated) >= 2 and all(map(is_task, correlated)):
            found.extend(correlated)  # «هم سابقه کلمو بگو هم ببین دخترم بیمه داره»
            continue
        clauses = _comma_requests(piece, understand, is_task)
        if clauses:
            found.extend(clauses)
            continue
        whole = understand(piece)
        halves = _AND_SPLIT.split(piece)
        if len(halves) == 2:
            first, second = understand(halves[0]), understand(halves[1])
            if is_task(first) and is_task(second) and first.intent != second.intent:
                found.extend((first, second))
                continue
        if is_task(whole):
            found.append(whole)
        elif not whole.unsure and whole.intent in SMALLTALK | {OUT_OF_SCOPE}:
            continue  # «سلام»، «دو تا سوال داشتم»: no request of its own
        else:
            return []  # a part nobody understood: not a list of requests, read it whole
    intents = [u.intent for u in found]
    if len(found) < 2 or len(set(intents)) != len(intents):
        return []
    return found[:limit]

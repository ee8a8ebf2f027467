"""Final-answer extraction shared by the ``accuracy`` rule and the evaluator.

Two modes, because training and evaluation want different things:

* ``strict``: only the content of the last ``<answer>...</answer>``. This is what the R1-Zero
  template asks for, so the accuracy reward also teaches the format.
* ``lenient``: the answer tag, else the last ``\\boxed{...}`` (with the boxes right before it when only
  connecting words or spacing separate them: ``\\boxed{-2} \\quad \\text{and} \\quad \\boxed{1}`` is the list
  ``-2, 1``), unless a Minerva-style "The final answer is $X$" follows it, else the last number. For scoring
  models that were not trained on the template (baselines, instruct models).

Every scan is linear in the text length (``rfind`` from the end, a bounded brace walk), so a
1 MB completion costs milliseconds, never a regex blow-up.
"""

from __future__ import annotations

import re
from typing import Literal

Mode = Literal["strict", "lenient"]
MODES: tuple[str, ...] = ("strict", "lenient")

ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_BOX_COMMANDS = ("\\boxed", "\\fbox")
# Bound the brace walk and the number of \boxed candidates tried, so adversarial text such as
# a megabyte of "\boxed{\boxed{..." stays linear.
_MAX_BOX_SCAN = 20_000
_MAX_BOX_CANDIDATES = 32
# A number: "1,000" (valid thousands groups), "18", "-3.5", ".5". Commas that do not form
# thousands groups split numbers ("5,6" -> 5 and 6), as a reader would.
_NUMBER_RE = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+(?![\d])|\d+)?(?:\.\d+)?(?![\w])")
_BARE_BOX_ARG = re.compile(r"[ \t]+([^\s$]+)")
_NUMBER_TAIL = 4096  # the last number lives near the end; scan only the tail window first


def extract_answer(text: str | None, mode: Mode = "strict") -> str | None:
    """Return the final answer in ``text`` (stripped), or ``None`` when there is none.

    ``strict``: content of the last complete ``<answer>...</answer>``; ``lenient``: that, else
    the last ``\\boxed{}``/``\\fbox{}`` content, else the last number. Empty answers are ``None``.
    """
    if mode not in MODES:
        raise ValueError(f"unknown extraction mode {mode!r}; use one of {', '.join(MODES)}")
    if not text:
        return None
    if not isinstance(text, str):
        raise TypeError(f"extract_answer expects a string, got {type(text).__name__}")
    answer = answer_tag_content(text)
    if answer is not None or mode == "strict":
        return answer
    tail = text[-_NUMBER_TAIL:]
    stated = list(_FINAL_ANSWER.finditer(tail))
    box_at = max(tail.rfind(cmd) for cmd in _BOX_COMMANDS)
    if stated and stated[-1].start() > box_at:
        return (stated[-1].group("a") or stated[-1].group("b")).strip() or None
    boxed = last_boxed_content(text)
    if boxed is not None:
        return _with_boxes_before(text, boxed)
    return last_number(text)


_FINAL_ANSWER = re.compile(r"final answer is:?\s*(?:\$(?P<a>[^$]{1,500})\$|\\\((?P<b>.{1,500}?)\\\))", re.IGNORECASE)
_BETWEEN_BOXES = re.compile(r"^(?:\s|\\quad|\\qquad|\\[,;: ]|\\text\s*\{\s*(?:and|or)?\s*\}|and|or|[,;$])*$")


def _with_boxes_before(text: str, last: str) -> str:
    """``last`` with the boxed answers right before it that only connectors separate from it, as a list."""
    found = [last]
    end = text.rfind(last)
    for _ in range(8):
        start = max(text.rfind(cmd, 0, end) for cmd in _BOX_COMMANDS)
        if start < 0:
            break
        prev = last_boxed_content(text[:end])
        if prev is None:
            break
        prev_end = text.rfind(prev, 0, end) + len(prev) + 1  # the closing brace
        if not _BETWEEN_BOXES.match(text[prev_end : end - len("\\boxed{")].strip()):
            break
        found.insert(0, prev)
        end = text.rfind(prev, 0, prev_end)
    return ", ".join(found)


def answer_tag_content(text: str) -> str | None:
    """Stripped content of the last complete ``<answer>...</answer>`` (``None`` if absent/empty)."""
    end = text.rfind(ANSWER_CLOSE)
    if end < 0:
        return None
    start = text.rfind(ANSWER_OPEN, 0, end)
    if start < 0:
        return None
    content = text[start + len(ANSWER_OPEN) : end].strip()
    return content or None


def last_boxed_content(text: str) -> str | None:
    """Content of the last balanced ``\\boxed{...}`` (or ``\\fbox{...}``, or ``\\boxed 5``)."""
    pos = len(text)
    for _ in range(_MAX_BOX_CANDIDATES):
        starts = [(text.rfind(cmd, 0, pos), cmd) for cmd in _BOX_COMMANDS]
        start, cmd = max(starts)
        if start < 0:
            return None
        content = _box_argument(text, start + len(cmd))
        if content:
            return content
        pos = start
    return None


def _box_argument(text: str, i: int) -> str | None:
    """The braced (or single-token) argument starting at ``text[i]``; ``None`` if unbalanced."""
    if i < len(text) and text[i] == "{":
        depth = 0
        stop = min(len(text), i + _MAX_BOX_SCAN)
        for j in range(i, stop):
            ch = text[j]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[i + 1 : j].strip() or None
        return None
    m = _BARE_BOX_ARG.match(text, i)  # "\boxed 5."
    return (m.group(1).rstrip(".,;") or None) if m else None


def last_number(text: str) -> str | None:
    """The last number in ``text`` as written (``"1,000"``, ``"-3.5"``), or ``None``."""
    window = text[-_NUMBER_TAIL:]
    found = _last_number_in(window)
    if found is None and len(text) > _NUMBER_TAIL:
        found = _last_number_in(text)
    return found


def _last_number_in(text: str) -> str | None:
    last = None
    for m in _NUMBER_RE.finditer(text):
        if m.group(0) and any(c.isdigit() for c in m.group(0)):
            last = m.group(0)
    return last

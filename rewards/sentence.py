"""Answers written as a sentence, and several boxed answers: which part is the answer.

A model asked for a final answer often writes a sentence inside its answer tag (``In 5 weeks, he saves
$40.``, ``Hence, $y = 3$.``, ``Therefore, the roots are $-2$ and $1$.``). Its commas are prose, not list
separators, and its other numbers are context. When the prediction reads as prose (two words or more of
three letters or more outside its mathematics, or one and a comma) and the gold does not, the answer is, in this order:

1. the boxed answer(s) in it;
2. its last mathematics span (``$...$``, ``\\(...\\)``, ``\\[...\\]``, ``$$...$$``) not negated (``..., not $3$``),
   unless a value is stated after it (``the value of $f(-2)$ is 18``), or its last *n* spans
   joined as a list when the gold is a list of *n* entries; a ``$`` whose "span" would hold prose is a
   currency sign (``with $2 off each, is $123$``), not a delimiter;
3. what follows the last ``=`` (``6 * 7 = 42 inches``);
4. the number after the last verb that states a value (``is 0, as 54 is divisible by 6``: ``0``);
5. the last number (``In 5 weeks, he saves $40.``).

Several ``\\boxed{}`` joined by prose or spacing (``\\boxed{2} \\text{ and } \\boxed{3}``) are a list of
their contents; one box around everything is unwrapped as before (:func:`.normalize.unwrap`).

Standard library only: the verify workers import this module too.
"""

from __future__ import annotations

import re

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_CMD_ARG = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox|operatorname|emph|textit)\s*\{[^{}]*\}")
_CMD = re.compile(r"\\[A-Za-z]+")
_PROSE_WORD = re.compile(r"(?<![\\A-Za-z0-9^_{])[A-Za-z][a-z]{2,}(?![A-Za-z0-9^_}])")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:(?:,\d{3})+(?!\d)|,\d{1,2}(?!\d))?(?:\.\d+)?(?:\s*\\pi(?![A-Za-z])|\s*\\%|%)?")
_VALUE_VERB = re.compile(
    r"(?<![A-Za-z])(?:is|are|was|were|be|equals?|equal to|gets?|got|gives?|makes?|becomes?|totals?|of about|"
    r"approximately|about|it's|it is)\s+(?:\\?\$\s*)?(?=-?\d)", re.IGNORECASE)
_NEGATED = re.compile(r"(?:\bnot|n't)\s*(?:\$\$|\$|\\\(|\\\[)\s*$")
_TAIL_PUNCT = re.compile(r"[\s.,;:!?]+$")


def box_contents(text: str) -> list[str]:
    """Contents of the top-level ``\\boxed{...}`` in ``text``, in order (an unbalanced box ends the scan)."""
    out = []
    pos = 0
    while True:
        m = _BOX.search(text, pos)
        if not m:
            return out
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth:
            return out
        out.append(text[m.end() : i - 1].strip())
        pos = i


def several_boxes(text: str) -> str | None:
    """``\\boxed{a} \\text{ and } \\boxed{b}`` -> ``a, b``: two boxes or more with only connecting words,
    punctuation, spacing or math delimiters between and around them; else None."""
    boxes = box_contents(text)
    if len(boxes) < 2:
        return None
    rest = text
    for b in boxes:
        rest = rest.replace(b, "", 1)
    rest = re.sub(r"\\(?:text|textrm|mbox)\s*\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b", " ", rest)
    if len(re.findall(r"[A-Za-z]{2,}", _CMD.sub(" ", rest))) > 3:  # a paragraph with boxes is no list of answers
        return None
    return ", ".join(boxes)


def answer_in_boxes(text: str) -> str | None:
    """The boxed answer of a text with boxes: several boxes as a list (:func:`several_boxes`); one box, or the
    last of several in a paragraph, when the rest is prose or nothing but delimiters (``So the answer is:
    \\[ \\boxed{32349} \\]``). None when the rest is mathematics (``x = \\boxed{5}``) or there is no box."""
    boxes = box_contents(text)
    if not boxes:
        return None
    listed = several_boxes(text)
    if listed is not None:
        return listed
    rest = text
    for b in boxes:
        rest = rest.replace(b, "", 1)
    bare = re.sub(r"\\[A-Za-z]+|\\n|[\s$.,;:!?{}()\[\]\\*]", "", rest)
    if re.search(r"%|percent|pct", rest):
        return None
    if is_sentence(rest) or not bare or (bare.isalpha() and not _CMD_ARG.search(rest)):  # "is $\\boxed{5}$"
        return boxes[-1]
    return None  # "x = \\boxed{5}", "\\boxed{5} \\text{ cm}": the rest is part of the answer


def _spans(text: str) -> list[str]:
    """Contents of the math spans in ``text`` in order; ``$`` that opens prose is a currency sign."""
    spans: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("\\(", i) or text.startswith("\\[", i):
            close = "\\)" if text[i + 1] == "(" else "\\]"
            j = text.find(close, i + 2)
            if j < 0:
                break
            spans.append(text[i + 2 : j])
            i = j + 2
        elif text[i] == "$" and (i == 0 or text[i - 1] != "\\"):
            delim = "$$" if text.startswith("$$", i) else "$"
            j = i + len(delim)
            while True:
                j = text.find(delim, j)
                if j < 0 or text[j - 1] != "\\":
                    break
                j += 1
            if j < 0:
                i += len(delim)  # a lone "$": a currency sign
                continue
            inner = text[i + len(delim) : j]
            if _is_prose(inner, min_words=1):
                i += len(delim)  # "$2 off each, is $": the first "$" is money
                continue
            spans.append(inner)
            i = j + len(delim)
        else:
            i += 1
    return [s.strip() for s in spans if s.strip()]


def _outside_math(text: str) -> str:
    for s in _spans(text):
        text = text.replace(s, " ", 1)
    return _CMD.sub(" ", _CMD_ARG.sub(" ", text))


def _is_prose(text: str, min_words: int = 2) -> bool:
    return len(_PROSE_WORD.findall(_CMD.sub(" ", _CMD_ARG.sub(" ", text)))) >= min_words


def is_sentence(text: str) -> bool:
    """Two words or more of three letters or more outside the mathematics, ``\\text{}`` and commands, or one
    followed by a comma or colon (``Hence, $y = 3$.``)."""
    outside = _outside_math(text)
    words = len(_PROSE_WORD.findall(outside))
    return words >= 2 or (words == 1 and bool(re.search(r"[A-Za-z]{3,}\s*[,:]", outside)))


def sentence_answer(pred: str, gold: str, gold_items: int = 1) -> str | None:
    """The answer stated by a sentence ``pred`` (see the module docstring), or None when ``pred`` is no
    sentence, the gold is one too, or nothing in it reads as the answer. ``gold_items``: entries in a list gold."""
    if not is_sentence(pred) or is_sentence(gold) or _is_prose(gold):
        return None
    boxes = box_contents(pred)
    if boxes:
        return ", ".join(boxes[-gold_items:]) if len(boxes) >= gold_items > 1 else boxes[-1]
    spans = _spans(pred)
    if spans and gold_items > 1 and len(spans) >= gold_items:
        return ", ".join(spans[-gold_items:])
    if gold_items > 1:
        return None
    text = _TAIL_PUNCT.sub("", pred.strip())
    if len(spans) > 1 and _NEGATED.search(text[: text.rfind(spans[-1])]):
        spans = spans[:-1]  # "the answer is $\\frac{1}{2}$, not $\\frac{1}{3}$"
    if spans:  # the last span, unless a value is stated after it ("the value of $f(-2)$ is 18")
        after = text[text.rfind(spans[-1]) + len(spans[-1]) :]
        stated = _stated_number(after)
        return stated if stated is not None else _TAIL_PUNCT.sub("", spans[-1])
    if "=" in text:
        tail = text.rsplit("=", 1)[1].strip()
        m = _NUMBER.match(tail)
        if m:
            return _TAIL_PUNCT.sub("", tail if _is_unit_tail(tail[m.end():]) else m.group(0))
    stated = _stated_number(text)
    if stated is not None:
        return stated
    numbers = _NUMBER.findall(text)
    return _TAIL_PUNCT.sub("", numbers[-1]) if numbers else None


def _stated_number(text: str) -> str | None:
    """The number after the last verb that states a value (``is 0, as 54 is divisible``: ``0``)."""
    for verb in reversed(list(_VALUE_VERB.finditer(text))):
        m = _NUMBER.match(text, verb.end())
        if m:
            return _TAIL_PUNCT.sub("", m.group(0))
    return None


def _is_unit_tail(rest: str) -> bool:
    """A short tail such as `` inches`` or `` m/s`` after a number: kept with it (the unit rule reads it)."""
    words = rest.split()
    return 0 < len(words) <= 2 and all(re.fullmatch(r"[A-Za-z/^\d]+", w) for w in words)

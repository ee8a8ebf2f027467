"""Answer text before parsing: unwrapping, canonical text, and the strings math-verify is handed.

Standard library only: the verify workers import this module too.
"""

from __future__ import annotations

import re

_DELIMITERS = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed|\\fbox")  # an escaped \$ is a currency sign
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_TEXT_ARG = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
_WORD = re.compile(r"[A-Za-z]{3,}")
_WRAPPERS = (
    re.compile(r"^\\boxed\{(.*)\}$", re.DOTALL),
    re.compile(r"^\\\((.*)\\\)$", re.DOTALL),
    re.compile(r"^\\\[(.*)\\\]$", re.DOTALL),
    re.compile(r"^\$\$(.*)\$\$$", re.DOTALL),
    re.compile(r"^\$([^$]*)\$$"),
)


def mathverify_inputs(answer: str) -> list[str]:
    """The strings handed to ``math_verify.parse`` for an extracted answer, in order of trial.

    Math-verify only finds LaTeX inside math delimiters, so a bare ``x^2+1`` or ``\\sqrt{2}``
    would parse to nothing: bare math is wrapped as ``$...$``. Answers that already carry
    delimiters are passed as written. Answers that read as prose ("18 dollars", "The answer is
    5") are tried as written first (math-verify's own anchors and number rules) and wrapped
    second only when they are one word (``Evelyn`` vs gold ``\\text{Evelyn}``): wrapping a
    sentence makes a product of a dozen symbols that sympy then grinds on, to no purpose.
    """
    s = answer.strip()
    if _DELIMITERS.search(s):
        return [s]
    wrapped = "$" + " ".join(s.split()) + "$"
    bare = _LATEX_CMD.sub(" ", _TEXT_ARG.sub(" ", s))
    if _WORD.search(bare):
        return [s] if len(s.split()) > 1 else [s, wrapped]
    return [wrapped]


def unwrap(text: str) -> str:
    """Strip ``\\boxed{}``, ``\\(..\\)``, ``\\[..\\]``, ``$..$`` around a whole answer."""
    s = text.strip()
    for _ in range(3):
        for pattern in _WRAPPERS:
            m = pattern.match(s)
            if m:
                s = m.group(1).strip()
                break
        else:
            return s
    return s


def canonical(answer: str) -> str:
    """Answer text with wrappers (``\\boxed{}``, ``$..$``, ``\\(..\\)``), ``\\dfrac`` and runs of
    spaces normalised away: two answers with the same canonical text are the same answer."""
    s = unwrap(answer).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return " ".join(s.split())  # collapse, never remove, spaces: "\\hbar \\omega" != "\\hbar\\omega"

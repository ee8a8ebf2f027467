"""``language``: DeepSeek-R1's language-consistency reward.

R1-Zero's reasoning drifted between languages; R1 added "the proportion of target-language
words in the CoT". Words are classified by Unicode script, which is deterministic, instant and
needs no model: it tells English from Chinese, Russian, Japanese, Korean, Arabic, Hindi, Greek,
Hebrew and Thai (not English from French: both are Latin script).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from r1lite.rewards.base import completion_text, completion_texts, report, reward_rule

# (language code, character class) in lookup order; Japanese kana before Han (kanji are Han).
SCRIPTS: tuple[tuple[str, str], ...] = (
    ("ja", "\u3040-\u30ff\u31f0-\u31ff"),
    ("zh", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),
    ("ko", "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"),
    ("ru", "\u0400-\u04ff"),
    ("ar", "\u0600-\u06ff\u0750-\u077f"),
    ("hi", "\u0900-\u097f"),
    ("el", "\u0370-\u03ff"),
    ("he", "\u0590-\u05ff"),
    ("th", "\u0e00-\u0e7f"),
    ("en", "A-Za-z\u00c0-\u024f"),
)
LANGUAGES = tuple(code for code, _ in SCRIPTS)
_ALIASES = {"english": "en", "chinese": "zh", "zh-cn": "zh", "zh-tw": "zh", "japanese": "ja",
            "korean": "ko", "russian": "ru", "arabic": "ar", "hindi": "hi", "greek": "el",
            "hebrew": "he", "thai": "th", "latin": "en"}
# Scripts without spaces between words: every character is a word-unit.
_PER_CHAR = {"zh", "ja", "th"}
_WORD_RE = re.compile("|".join(
    f"(?P<{code}>[{chars}]{'' if code in _PER_CHAR else '+'})" for code, chars in SCRIPTS
))
# Things that are not natural language: code blocks, inline code, LaTeX math, LaTeX commands.
_STRIP_RES = (
    re.compile(r"```.*?```", re.DOTALL),
    re.compile(r"`[^`\n]*`"),
    re.compile(r"\$\$.*?\$\$", re.DOTALL),
    re.compile(r"\\\[.*?\\\]", re.DOTALL),
    re.compile(r"\\\(.*?\\\)", re.DOTALL),
    re.compile(r"\$[^$\n]*\$"),
    re.compile(r"\\[A-Za-z]+"),
    re.compile(r"<[^<>\n]{0,40}>"),  # tags such as <think>
    re.compile(r"\b[A-Za-z]\b"),  # single letters are variables (x, y, a), not words
)


def normalise_language(code: str) -> str:
    c = _ALIASES.get(code.strip().lower(), code.strip().lower())
    if c not in LANGUAGES:
        raise ValueError(f"language: unknown language {code!r}; use one of {', '.join(LANGUAGES)}")
    return c


def word_languages(text: str) -> Counter[str]:
    """Count word-units per language, ignoring code, LaTeX, numbers and punctuation."""
    for pattern in _STRIP_RES:
        text = pattern.sub(" ", text)
    counts = Counter(m.lastgroup for m in _WORD_RE.finditer(text) if m.lastgroup)
    if counts.get("ja") and counts.get("zh"):  # kana present: the Han characters are kanji
        counts["ja"] += counts.pop("zh")
    return counts


FOREIGN_SHARE = 0.2


def dominant_language(text: str, default: str = "en") -> str:
    """The prompt's language: a non-Latin script with at least 20% of the words wins over English.

    Prompt templates (R1-Zero's "A conversation between User and Assistant...") are English, so a
    Chinese question inside one is still mostly English words; its share is what tells.
    """
    counts = word_languages(text)
    if not counts:
        return default
    total = sum(counts.values())
    foreign = [(n, code) for code, n in counts.items() if code != "en"]
    if foreign and max(foreign)[0] >= FOREIGN_SHARE * total:
        return max(foreign)[1]
    return counts.most_common(1)[0][0]


def reasoning_text(text: str) -> str:
    """The chain of thought: the ``<think>`` block (or everything before ``</think>`` when the
    prompt prefilled ``<think>``); the whole completion when it has no think block."""
    end = text.find("</think>")
    if end < 0:
        return text
    start = text.rfind("<think>", 0, end)
    return text[start + len("<think>") if start >= 0 else 0 : end]


def prompt_text(prompt: Any) -> str:
    """A prompt's words: a string, or the user/system turns of a chat-message list."""
    if prompt is None:
        return ""
    if isinstance(prompt, (list, tuple)):
        parts = [completion_text(dict(m, role="assistant")) for m in prompt
                 if isinstance(m, Mapping) and m.get("role", "user") in ("user", "system")]
        return "\n".join(parts)
    return str(prompt)


@reward_rule("language")
def language(completions: list[Any], lang: str | None = None, **kwargs: Any) -> list[float | None]:
    """Fraction of the reasoning's word-units that are in the target language (0.0 to 1.0).

    The reasoning is the ``<think>`` block (the whole completion if there is none). The target is
    ``lang`` (e.g. ``"en"``, ``"zh"``) or, by default, the prompt's language (TRL's ``prompts``
    kwarg; a non-Latin script with 20% of the prompt's words beats an English template; English
    when there is no prompt). Code, LaTeX, numbers, punctuation and
    single-letter variables are ignored; a Chinese/Japanese/Thai character counts as one word.
    ``None`` when the reasoning has no words at all (diagnostic ``no_words``).
    """
    texts = completion_texts(completions)
    target = normalise_language(lang) if lang else None
    prompts = kwargs.get("prompts")
    if not isinstance(prompts, (list, tuple)) or len(prompts) != len(texts):
        prompts = [None] * len(texts)
    scores: list[float | None] = []
    no_words = 0
    for text, prompt in zip(texts, prompts, strict=True):
        tgt = target or dominant_language(prompt_text(prompt))
        counts = word_languages(reasoning_text(text))
        total = sum(counts.values())
        if total == 0:
            no_words += 1
            scores.append(None)
        else:
            scores.append(counts[tgt] / total)
    report("language", {"no_words": no_words}, len(texts), kwargs)
    return scores

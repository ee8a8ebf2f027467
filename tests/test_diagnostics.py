"""R1-Zero diagnostics (r1lite.train.diagnostics): reflection words, length of correct vs wrong completions,
outcome shares, accuracy per difficulty / type, and their curves.png panels."""

from __future__ import annotations

import pytest

from r1lite.train.diagnostics import (
    REFLECTION_WORDS,
    SIMPLERL_ZOO_WORDS,
    UNDERSTAND_R1_ZERO_WORDS,
    Diagnostics,
    count_reflections,
    diag_curves,
    group_columns_of,
    parse_words,
    reflection_pattern,
    step_metrics,
)


def test_word_list_joins_both_published_lists() -> None:
    assert set(SIMPLERL_ZOO_WORDS) | set(UNDERSTAND_R1_ZERO_WORDS) <= set(REFLECTION_WORDS)
    assert {"wait", "verify", "check", "however", "re-evaluate", "recheck", "let me"} <= set(REFLECTION_WORDS)


@pytest.mark.parametrize(("text", "count"), [
    ("Wait, let me recheck: 3 + 4 = 7.", 3),          # wait, let me, recheck (not also "check")
    ("I will double-check. Then check again.", 2),    # each phrase once, not "check" inside them
    ("awaiting the checkout, unverified", 0),         # only whole words
    ("However, WAIT. wait!", 3),                      # case-insensitive
    ("", 0),
])
def test_reflection_words_count_whole_words_once(text: str, count: int) -> None:
    assert count_reflections(text, reflection_pattern()) == count


def test_word_list_is_overridable() -> None:
    assert parse_words("Wait, hmm ,") == ("wait", "hmm")
    assert parse_words(None) == REFLECTION_WORDS and parse_words("") == REFLECTION_WORDS
    d = Diagnostics(words="hmm")
    assert count_reflections("hmm, wait", d.pattern) == 1


def rows_for(texts: list[str], acc: list[float | None], fmt: list[float | None], lengths: list[int],
             types: list[str] | None = None) -> list[dict]:
    labels = {"type": types} if types else None
    return Diagnostics().rows([f"p{i // 2}" for i in range(len(texts))], texts, {"accuracy": acc, "format": fmt},
                              lengths, labels)


def test_step_metrics_lengths_shares_and_groups() -> None:
    texts = ["wait 7", "7", "let me see 8", "9", "x", "wait wait"]
    rows = rows_for(texts, acc=[1.0, 1.0, 0.0, 0.0, 0.0, None], fmt=[1.0, 1.0, 1.0, 0.0, 0.0, 1.0],
                    lengths=[10, 20, 40, 50, 60, 99], types=["+", "+", "+", "*", "*", "*"])
    m = step_metrics(rows)
    assert m["diag/length_correct"] == 15 and m["diag/length_wrong"] == 50  # the unscorable row is left out
    assert m["diag/correct_share"] == pytest.approx(2 / 5)
    assert m["diag/format_only_share"] == pytest.approx(1 / 5)  # formatted but wrong: "let me see 8"
    assert m["diag/neither_share"] == pytest.approx(2 / 5)
    assert m["diag/reflection_rate"] == pytest.approx(4 / 6) and m["diag/reflection_share"] == pytest.approx(3 / 6)
    assert m["diag/accuracy/type=+"] == pytest.approx(2 / 3) and m["diag/accuracy/type=*"] == 0.0
    assert rows[0]["prompt_id"] == rows[1]["prompt_id"] != rows[2]["prompt_id"]
    assert rows[5]["correct"] is None and rows[3]["formatted"] is False and rows[0]["labels"] == {"type": "+"}


def test_no_correct_completion_means_no_correct_length() -> None:
    m = step_metrics(rows_for(["a", "b"], acc=[0.0, 0.0], fmt=[0.0, 0.0], lengths=[3, 5]))
    assert "diag/length_correct" not in m and m["diag/length_wrong"] == 4 and m["diag/correct_share"] == 0.0


def test_format_fn_scores_when_format_is_not_a_training_rule() -> None:
    d = Diagnostics("accuracy", "format", format_fn=lambda completions, **kw: [float("<answer>" in c)
                                                                               for c in completions])
    rows = d.rows(["p", "p"], ["<answer>1</answer>", "1"], {"accuracy": [0.0, 0.0]}, [4, 1])
    assert [r["formatted"] for r in rows] == [True, False]


def test_group_columns_and_curves() -> None:
    assert group_columns_of(["question", "answer", "type", "level"]) == ["level", "type"]
    steps = [{"step": 1, "diag/length_correct": 5.0, "entropy": 1.2, "loss": 0.1},
             {"step": 2, "diag/length_correct": 7.0, "entropy": float("nan")}]
    assert diag_curves(steps) == {"diag/length_correct": [(1, 5.0), (2, 7.0)], "entropy": [(1, 1.2)]}


def test_curves_png_has_the_diagnostics_panels() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from r1lite.train.callbacks import draw_curves

    steps = [{"step": s, "reward": 0.5, "rewards/accuracy/mean": 0.5, "diag/length_correct": 10.0 + s,
              "diag/length_wrong": 30.0 - s, "diag/reflection_rate": 0.1 * s, "diag/reflection_share": 0.05 * s,
              "diag/correct_share": 0.5, "diag/format_only_share": 0.3, "diag/neither_share": 0.2,
              "diag/accuracy/type=+": 0.6, "diag/accuracy/type=*": 0.2, "entropy": 1.0} for s in (1, 2, 3)]
    fig = draw_curves(steps, [{"step": 0, "accuracy": 0.2}], ["accuracy"])
    titles = [ax.get_title() for ax in fig.axes]
    for title in ("completion length: correct vs wrong", "reflection words", "accuracy by difficulty / type",
                  "policy entropy", "completions: correct / format only / neither"):
        assert title in titles, titles
    by_title = {ax.get_title(): ax for ax in fig.axes}
    length = by_title["completion length: correct vs wrong"]
    assert [line.get_label() for line in length.lines] == ["correct", "wrong"]
    assert list(length.lines[1].get_ydata()) == [29.0, 28.0, 27.0]
    assert {line.get_label() for line in by_title["accuracy by difficulty / type"].lines} == {"type=+", "type=*"}


def test_progress_table_shows_the_diagnostics(capsys: pytest.CaptureFixture) -> None:
    from rich.console import Console

    from r1lite.train.callbacks import RichProgress

    progress = RichProgress(["accuracy"], "accuracy", table_every=1, console=Console(width=250, force_terminal=False))
    progress.rows = [{"step": 1, "reward": 0.5, "rewards/accuracy/mean": 0.5, "diag/length_correct": 12.0,
                      "diag/length_wrong": 31.0, "diag/reflection_rate": 0.25}]
    progress.print_table()
    out = capsys.readouterr().out
    for title, value in (("len ok", "12"), ("len bad", "31"), ("reflect", "0.25")):
        assert title in out and value in out, out

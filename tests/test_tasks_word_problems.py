"""The benchmarks of issue 23 as tasks: ``olympiadbench`` (list-valued golds) and the word-problem sets ``svamp``,
``asdiv`` (gold ``9 (apples)``), ``mawps``: loading from R1LITE_DATA_DIR, gold parsing, the hash split, a user's
file with the published keys, and ``r1lite eval``/``r1lite tasks list`` seeing them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from r1lite.tasks import get_task, list_tasks
from r1lite.tasks.math import olympiad_gold
from r1lite.tasks.procedural import split_of
from r1lite.tasks.word_problems import asdiv_gold, number_gold, problem_key

WORD = ["svamp", "asdiv", "mawps"]
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def records(data_dir: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (data_dir / name / "test.jsonl").read_text().splitlines() if line.strip()]


def test_registered_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    from r1lite.tasks.cli import main

    assert {"olympiadbench", *WORD} <= set(list_tasks())
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ["olympiadbench", *WORD]:
        assert name in out


# ---------------------------------------------------------------------------------------------- word problems
@pytest.mark.parametrize("name", WORD)
def test_word_problems_load_from_the_data_dir(data_dir: Path, name: str) -> None:
    task = get_task(name)
    data = task.load("all")
    raw = records(data_dir, name)
    assert len(data) == len(raw)
    assert str(data_dir / name / "test.jsonl") in task.last_source
    first = raw[0]
    body, question = {"svamp": ("Body", "Question"), "asdiv": ("body", "question"), "mawps": (None, "input")}[name]
    question = (f"{first[body].strip()} " if body else "") + first[question].strip()
    assert data[0]["question"] == question
    assert all(isinstance(a, str) and a for a in data["answer"])


@pytest.mark.parametrize("name", WORD)
def test_word_problem_splits_are_disjoint_stable_and_cover_the_set(data_dir: Path, name: str) -> None:
    task = get_task(name)
    train, test, every = task.load("train"), task.load("test"), task.load("all")
    assert len(train) + len(test) == len(every)
    assert not {problem_key(q) for q in train["question"]} & {problem_key(q) for q in test["question"]}
    assert 0.25 < len(test) / len(every) < 0.35  # test_fraction 0.3
    assert all(split_of(problem_key(q), 0.3) == "test" for q in test["question"])
    assert get_task(name).load("test")["question"] == test["question"]  # same problems, same order, every time
    assert task.load("test", limit=7)["question"] == test["question"][:7]
    assert len(get_task(name, test_fraction=0.5).load("test")) > len(test)


def test_split_key_ignores_case_and_spacing() -> None:
    assert problem_key("Joan  found 70\nseashells.") == problem_key("joan found 70 seashells.")


@pytest.mark.parametrize("raw, gold", [("9 (apples)", "9"), ("2.5 (dollars)", "2.5"), ("1,200 (people)", "1200"),
                                       ("-3 (degrees)", "-3"), ("12.0 (cm)", "12"), ("383", "383"), ("Yes", "Yes"),
                                       ("5:6", "5:6"), ("3:30 p.m.", "3:30 p.m."), ("1/2 (cup)", "1/2"), (None, None)])
def test_asdiv_gold_drops_the_unit(raw, gold) -> None:
    assert asdiv_gold(raw) == gold


def test_asdiv_numeric_golds_match_the_published_numbers(data_dir: Path) -> None:
    data = get_task("asdiv").load("all")
    numeric = 0
    for gold, rec in zip(data["answer"], records(data_dir, "asdiv"), strict=True):
        m = re.fullmatch(r"(-?[\d.,]+) \((.*)\)", rec["answer"])
        if m:
            numeric += 1
            assert NUMBER.fullmatch(gold), (gold, rec["answer"])
            assert float(gold) == float(m[1].replace(",", ""))
            assert "(" not in gold
    assert numeric > 2000


@pytest.mark.parametrize("name, key", [("svamp", "Answer"), ("mawps", "target")])
def test_float_golds_are_plain_numbers(data_dir: Path, name: str, key: str) -> None:
    data = get_task(name).load("all")
    for gold, rec in zip(data["answer"], records(data_dir, name), strict=True):
        assert NUMBER.fullmatch(gold) and float(gold) == float(rec[key]), gold
        assert not gold.endswith(".0")
    assert number_gold(145.0) == "145" and number_gold(1.84) == "1.84" and number_gold("1,000") == "1000"


# ---------------------------------------------------------------------------------------------- olympiadbench
@pytest.mark.parametrize("final_answer, gold", [
    (["$2$"], "2"), (["$69$,$84$"], "69,84"), (["$\\frac{1}{2 n+2}$"], "\\frac{1}{2 n+2}"),
    (["$(-\\infty, 0) \\cup\\{1\\}$."], "(-\\infty, 0) \\cup\\{1\\}"), (["3", "5"], "3, 5"),
    (["costs \\$5"], "costs \\$5"), ([], None), (None, None),
])
def test_olympiad_gold_from_the_answer_list(final_answer, gold) -> None:
    assert olympiad_gold(final_answer) == gold


def test_olympiadbench_loads_every_problem_from_the_data_dir(data_dir: Path) -> None:
    task = get_task("olympiadbench")
    data = task.load("test")
    raw = records(data_dir, "olympiadbench")
    assert len(data) == len(raw) == 675
    assert str(data_dir / "olympiadbench" / "test.jsonl") in task.last_source
    assert all(a and "$" not in a.replace("\\$", "") for a in data["answer"])
    multi = [a for a, m in zip(data["answer"], data["is_multiple_answer"], strict=True) if m == "True"]
    assert len(multi) == sum(r["is_multiple_answer"] for r in raw) and all("," in a for a in multi)


def test_multi_answer_gold_needs_every_part_in_any_order(data_dir: Path) -> None:
    from r1lite.rewards.verify import verify_answer

    gold = olympiad_gold(["$69$,$84$"])
    assert verify_answer("84, 69", gold).correct and verify_answer("69 and 84", gold).correct
    assert not verify_answer("69", gold).correct and not verify_answer("69, 84, 100", gold).correct
    data = get_task("olympiadbench").load("test")
    triples = next(a for a in data["answer"] if a.startswith("(1,8,19)"))
    assert verify_answer("(4,5,7), (1,8,19), (2,7,13)", triples).correct
    assert not verify_answer("(1,8,19), (2,7,13)", triples).correct


# ---------------------------------------------------------------------------------------------- a user's file
USER_FILES = {
    "svamp": [{"Body": "Tom has 3 apples.", "Question": "He buys 4 more. How many now?", "Answer": 7.0}],
    "asdiv": [{"body": "Ann has 2 cats.", "question": "She gets 3 more. How many cats?", "answer": "5 (cats)"}],
    "mawps": [{"input": "Sam had 9 pens and lost 4. How many are left?", "target": 5.0}],
    "olympiadbench": [{"question": "Find all $x$ with $x^2=4$.", "final_answer": ["$2$,$-2$"],
                       "is_multiple_answer": True, "context": None}],
}
EXPECTED = {"svamp": ("Tom has 3 apples. He buys 4 more. How many now?", "7"),
            "asdiv": ("Ann has 2 cats. She gets 3 more. How many cats?", "5"),
            "mawps": ("Sam had 9 pens and lost 4. How many are left?", "5"),
            "olympiadbench": ("Find all $x$ with $x^2=4$.", "2,-2")}


@pytest.mark.parametrize("name", sorted(USER_FILES))
def test_a_users_jsonl_with_the_published_keys(tmp_path: Path, name: str) -> None:
    from r1lite.eval.evaluate import load_benchmark

    path = tmp_path / f"my_{name}.jsonl"
    rows = USER_FILES[name] * 3
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = get_task(name, source=str(path)).load("train" if name != "olympiadbench" else "test")
    assert len(data) == 3  # a user's file is used whole, whatever the split
    assert (data[0]["question"], data[0]["answer"]) == EXPECTED[name]
    bench = load_benchmark(f"{name}={path}", "test", None, "question", "answer")
    assert bench.name == f"{name}=my_{name}" and bench.questions[0] == EXPECTED[name][0]
    assert bench.golds == [EXPECTED[name][1]] * 3 and bench.source == str(path.resolve())


def test_eval_names_the_missing_user_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from r1lite.eval.evaluate import main

    assert main(["--model", "smollm2-135m", "--benchmarks", f"svamp={tmp_path / 'nope.jsonl'}"]) == 2
    err = capsys.readouterr().err
    assert "nope.jsonl not found" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["olympiadbench", *WORD])
def test_eval_loads_them_as_benchmarks(data_dir: Path, name: str) -> None:
    from r1lite.eval.evaluate import load_benchmark

    bench = load_benchmark(name, "test", 50, "question", "answer")
    assert bench.name == name and len(bench.questions) == len(bench.golds) == 50
    assert bench.eval_mode == "strict" and str(data_dir / name) in bench.source


def test_eval_scores_the_published_set_of_a_word_problem_benchmark_by_default(data_dir: Path) -> None:
    """`r1lite eval --benchmarks svamp` is the whole published set (papers' numbers); `--split test` the held-out
    part; a benchmark with a real test split keeps it."""
    from r1lite.eval.evaluate import load_benchmark

    svamp = load_benchmark("svamp", None, None, "question", "answer")
    held_out = load_benchmark("svamp", "test", None, "question", "answer")
    assert (svamp.split, len(svamp.questions)) == ("all", len(records(data_dir, "svamp")))
    assert held_out.split == "test" and 0 < len(held_out.questions) < len(svamp.questions)
    gsm8k = load_benchmark("gsm8k", None, 5, "question", "answer")
    assert gsm8k.split == "test"

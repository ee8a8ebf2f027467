"""Tasks: registry, data sources, gold extraction, procedural generation (offline, ../shared/data)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sympy
from r1lite.rewards import get_rule
from r1lite.tasks import DataSourceError, Task, TaskError, get_task, list_tasks, task
from r1lite.tasks.math import last_boxed, math_gold
from r1lite.tasks.procedural import split_of

NUMBER = re.compile(r"-?\d+(\.\d+)?")
SHARED_TASKS = ["gsm8k", "math500", "aime24", "amc23", "minerva_math"]


def records(data_dir: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (data_dir / name / "test.jsonl").read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------------------------------------- registry
def test_builtin_tasks_are_registered() -> None:
    assert {"gsm8k", "math", "math500", "aime24", "amc23", "minerva_math", "countdown", "arithmetic"} <= set(
        list_tasks())


def test_unknown_task_lists_the_available_ones() -> None:
    with pytest.raises(TaskError, match="gsm8k"):
        get_task("gsm8kk")


def test_unknown_option_is_rejected_with_the_accepted_ones() -> None:
    with pytest.raises(TaskError, match="digitz.*accepted:.*digits"):
        get_task("arithmetic", digitz=3)


def test_user_task_from_file(tmp_path: Path) -> None:
    plugin = tmp_path / "my_tasks.py"
    plugin.write_text(
        "import datasets\n"
        "from dataclasses import dataclass\n"
        "from r1lite.tasks import Task\n"
        "@dataclass\n"
        "class Echo(Task):\n"
        "    word: str = 'hi'\n"
        "    def _load(self, split, *, source, limit, seed):\n"
        "        return datasets.Dataset.from_list([{'question': f'Say {self.word}', 'answer': self.word}] * 4)\n"
    )
    t = get_task(f"{plugin}:Echo", word="yo")
    assert t.name == "Echo" and t.rewards == {"accuracy": 1.0, "format": 0.2}
    assert t.load("train", limit=2)["answer"] == ["yo", "yo"]


def test_decorator_registers_task_classes() -> None:
    @task("test_fixed_task", overwrite=True)
    class Fixed(Task):
        def _load(self, split, *, source, limit, seed):
            import datasets

            return datasets.Dataset.from_list([{"question": "q", "answer": "a"}])

    t = get_task("test_fixed_task", eval_mode="lenient")
    assert isinstance(t, Fixed) and t.name == "test_fixed_task" and t.eval_mode == "lenient"


def test_task_without_answer_column_is_an_error(tmp_path: Path) -> None:
    class Broken(Task):
        def _load(self, split, *, source, limit, seed):
            import datasets

            return datasets.Dataset.from_list([{"question": "q"}])

    with pytest.raises(TaskError, match="answer"):
        Broken(name="broken").load()


# ---------------------------------------------------------------------------------------------- shared data
@pytest.mark.parametrize("name", SHARED_TASKS)
def test_every_task_loads_from_the_data_dir(data_dir: Path, name: str) -> None:
    t = get_task(name)
    data = t.load("test")
    assert len(data) == len(records(data_dir, name))
    assert str(data_dir / name / "test.jsonl") in t.last_source
    assert all(isinstance(q, str) and q for q in data["question"])
    assert all(isinstance(a, str) and a for a in data["answer"])


def test_math_task_loads_a_local_file_in_math_format(data_dir: Path) -> None:
    t = get_task("math", source=str(data_dir / "math500" / "test.jsonl"))
    data = t.load("test", limit=5)
    assert data["answer"] == [r["answer"] for r in records(data_dir, "math500")[:5]]


def test_gsm8k_golds_are_all_numbers(data_dir: Path) -> None:
    data = get_task("gsm8k").load("test")
    raw = records(data_dir, "gsm8k")
    for gold, rec in zip(data["answer"], raw, strict=True):
        assert NUMBER.fullmatch(gold), gold
        assert float(gold) == float(rec["answer"].split("####")[-1].strip().replace(",", ""))


@pytest.mark.parametrize("name", ["math500", "minerva_math", "aime24", "amc23"])
def test_math_golds_parse_with_math_verify(data_dir: Path, name: str) -> None:
    from math_verify import parse

    for gold in get_task(name).load("test")["answer"]:
        assert parse(f"${gold}$"), gold


def test_amc23_float_golds_render_as_integers(data_dir: Path) -> None:
    golds = get_task("amc23").load("test")["answer"]
    assert golds[0] == "27" and not any(g.endswith(".0") for g in golds)


def test_minerva_golds_come_from_the_last_boxed(data_dir: Path) -> None:
    raw = records(data_dir, "minerva_math")
    data = get_task("minerva_math").load("test")
    assert data["answer"][0] == last_boxed(raw[0]["solution"])
    assert all("\\boxed" not in g for g in data["answer"])


@pytest.mark.parametrize("text,expected", [
    ("so \\boxed{\\frac{1}{2}} and then \\boxed{\\frac{3}{4}}", "\\frac{3}{4}"),
    ("\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    ("no box here", None),
    ("broken \\boxed{1", None),
    (None, None),
])
def test_last_boxed_matches_braces(text: str | None, expected: str | None) -> None:
    assert last_boxed(text) == expected


def test_math_gold_normalises_numbers() -> None:
    assert math_gold(27.0) == "27" and math_gold(0.5) == "0.5" and math_gold(None) is None
    assert math_gold("The answer is \\boxed{7}.") == "7"


def test_custom_keys_and_file_formats(tmp_path: Path) -> None:
    rows = [{"q": "What is 2+3?", "gold": 5}, {"q": "What is 1+1?", "gold": 2.0}]
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "p.json").write_text(json.dumps(rows))
    (tmp_path / "p.csv").write_text("q,gold\nWhat is 2+3?,5\nWhat is 1+1?,2\n")
    import datasets

    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "p.parquet"))
    for suffix in ("jsonl", "json", "csv", "parquet"):
        t = get_task("math500", question_key="q", answer_key="gold")
        data = t.load("test", source=str(tmp_path / f"p.{suffix}"))
        assert data["question"] == ["What is 2+3?", "What is 1+1?"], suffix
        assert data["answer"] == ["5", "2"], suffix


def test_wrong_keys_name_the_record_keys(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text(json.dumps({"q": "x", "gold": 1}) + "\n")
    with pytest.raises(TaskError, match="keys: gold, q.*question_key"):
        get_task("gsm8k").load("test", source=str(tmp_path / "p.jsonl"))


def test_missing_file_says_how_to_pass_one(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="not found.*--data-path"):
        get_task("gsm8k").load("test", source=str(tmp_path / "nope.jsonl"))


def test_nothing_loadable_lists_what_was_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R1LITE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")

    def offline(*args, **kwargs):  # belt and braces: the test must never reach the network
        raise ConnectionError("offline")

    monkeypatch.setattr("datasets.load_dataset", offline)
    with pytest.raises(DataSourceError) as err:
        get_task("gsm8k").load("test")
    msg = str(err.value)
    assert "gsm8k/test.jsonl" in msg and "openai/gsm8k" in msg and "--data-path" in msg


def test_bad_jsonl_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"question": "a", "answer": "#### 1"}\nnot json\n')
    with pytest.raises(TaskError, match="bad.jsonl line 2: not valid JSON"):
        get_task("gsm8k").load("test", source=str(tmp_path / "bad.jsonl"))


def test_unknown_split_is_an_error(data_dir: Path) -> None:
    with pytest.raises(TaskError, match="no split 'train'.*test"):
        get_task("math500").load("train")


# ---------------------------------------------------------------------------------------------- procedural
@pytest.mark.parametrize("name", ["arithmetic", "countdown"])
def test_procedural_tasks_are_deterministic_per_seed(name: str) -> None:
    a = get_task(name).load("train", limit=200, seed=3).to_list()
    b = get_task(name).load("train", limit=200, seed=3).to_list()
    c = get_task(name).load("train", limit=200, seed=4).to_list()
    assert a == b and a != c
    assert get_task(name).load("train", limit=50, seed=3).to_list() == a[:50]  # limit keeps the prefix
    assert len(get_task(name).load("train", limit=0)) == 0


@pytest.mark.parametrize("name", ["arithmetic", "countdown"])
def test_procedural_splits_are_disjoint(name: str) -> None:
    t = get_task(name)
    train = t.load("train", seed=0)
    test = t.load("test", limit=300, seed=1)
    train_keys = {t.problem_key(r) for r in train}
    test_keys = {t.problem_key(r) for r in test}
    assert len(set(test["question"])) == len(test)  # unique within a split
    assert not train_keys & test_keys
    assert all(split_of(k, t.test_fraction) == "test" for k in test_keys)


def test_arithmetic_answers_are_correct_and_easy_by_default() -> None:
    data = get_task("arithmetic").load("test", limit=200)
    for q, a in zip(data["question"], data["answer"], strict=True):
        m = re.fullmatch(r"What is (\d{2}) \+ (\d{2})\?", q)
        assert m, q
        assert int(a) == int(m.group(1)) + int(m.group(2))


def test_arithmetic_difficulty_knobs() -> None:
    data = get_task("arithmetic", difficulty="hard", operators="*-").load("train", limit=100)
    for q, a in zip(data["question"], data["answer"], strict=True):
        expr = q.removeprefix("What is ").removesuffix("?")
        tokens = expr.split()
        assert len(tokens) == 5 and all(len(t) == 3 for t in tokens[0::2]) and set(tokens[1::2]) <= {"*", "-"}
        assert int(a) == int(sympy.sympify(expr))  # precedence: * before -
    with pytest.raises(TaskError, match="difficulty"):
        get_task("arithmetic", difficulty="impossible")
    with pytest.raises(TaskError, match="operators"):
        get_task("arithmetic", operators="^")


def test_commuted_twins_share_a_split() -> None:
    t = get_task("arithmetic")
    assert t.problem_key({"question": "What is 23 + 45?"}) == t.problem_key({"question": "What is 45 + 23?"})
    assert t.problem_key({"question": "What is 23 - 45?"}) != t.problem_key({"question": "What is 45 - 23?"})


def test_too_few_unique_problems_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    data = get_task("arithmetic", digits=1, num_examples={"train": 500}).load("train")
    assert 0 < len(data) < 500  # 1-digit additions: at most 81 ordered pairs
    assert "only" in capsys.readouterr().err


def test_every_countdown_problem_is_solvable_and_its_reference_scores_one() -> None:
    rule = get_rule("countdown")
    for split, seed, n in (("train", 0, 1000), ("test", 1, 300)):
        data = get_task("countdown").load(split, limit=n, seed=seed)
        assert len(data) == n
        completions = [f"reasoning</think> <answer>{s}</answer>" for s in data["solution"]]
        assert rule(completions, nums=data["nums"], target=data["target"]) == [1.0] * n
        assert all(3 <= len(ns) <= 4 and all(1 <= x <= 99 for x in ns) for ns in data["nums"])
        assert all(1 <= t <= 100 and str(t) == a for t, a in zip(data["target"], data["answer"], strict=True))
        wrong = [f"</think> <answer>{ns[0]}</answer>" for ns in data["nums"][:20]]
        assert rule(wrong, nums=data["nums"][:20], target=data["target"][:20]) == [0.0] * 20


def test_countdown_difficulty_and_source(tmp_path: Path) -> None:
    hard = get_task("countdown", difficulty="hard").load("train", limit=50)
    assert all(len(ns) == 4 for ns in hard["nums"])
    (tmp_path / "cd.jsonl").write_text(json.dumps({"nums": [1, 2, 3], "target": 6}) + "\n")
    data = get_task("countdown").load("train", source=str(tmp_path / "cd.jsonl"))
    assert data[0]["nums"] == [1, 2, 3] and data[0]["target"] == 6 and "[1, 2, 3]" in data[0]["question"]
    with pytest.raises(TaskError, match="procedurally"):
        get_task("arithmetic").load("train", source="whatever/hub-id")

"""The shared progress bar shows its label, the count and the extra field."""

import io

from rich.console import Console

from r1lite.progress import progress_bar


def test_progress_bar_renders_label_count_and_field():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    bar = progress_bar("[bold]GRPO", "info", console=console, transient=False)
    with bar:
        task = bar.add_task("train", total=40, info="")
        bar.update(task, completed=3, info="reward 0.500  acc 0.25")
    text = out.getvalue()
    assert "GRPO" in text and "3/40" in text and "reward 0.500  acc 0.25" in text


def test_progress_bar_disabled_writes_nothing():
    out = io.StringIO()
    bar = progress_bar("{task.description}", "rate", console=Console(file=out, force_terminal=True), disable=True)
    with bar:
        task = bar.add_task("generate", total=2, rate="")
        bar.update(task, advance=2, rate="9 tok/s")
    assert out.getvalue() == ""

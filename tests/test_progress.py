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


def _state(step: int = 0, max_steps: int = 10):
    from types import SimpleNamespace

    return SimpleNamespace(is_world_process_zero=True, global_step=step, max_steps=max_steps)


def test_heldout_is_its_own_phase_and_not_counted_in_step_time(capsys):
    """A held-out pass shows as its own line and its time stays out of s/step (issue 16: 140 s/step shown for a
    20 s step because the first step's clock included the 'before' evaluation); the ETA adds the passes to come."""
    import time
    from types import SimpleNamespace

    from r1lite.progress import phase
    from r1lite.train.callbacks import RichProgress

    out = io.StringIO()
    progress = RichProgress(["accuracy"], "accuracy", table_every=0, console=Console(file=out, width=200))
    args = SimpleNamespace(heldout_every=0, num_generations=4, generation_batch_size=8, stop_strings=None,
                           max_completion_length=8, template=None, model="m")
    progress.on_train_begin(args, _state(), None)
    with phase("held-out before", "(step 0)"):
        time.sleep(0.3)
    assert "held-out before: running (step 0)" in capsys.readouterr().out
    assert progress.paused >= 0.3
    time.sleep(0.05)
    progress.on_log(args, _state(1), None, logs={"reward": 0.5, "rewards/accuracy/mean": 0.5,
                                                  "dynamic_sampling/zero_variance_frac": 0.0})
    line = capsys.readouterr().out
    per_step = float(line.split("s/step")[0].split()[-1])
    assert per_step < 0.25, line  # the 0.3 s pass is not a slow step
    # 9 steps to go at the measured rate + the final held-out pass at its measured duration
    assert progress.eta_seconds(1, 10) >= 0.3 + 9 * progress.step_seconds(1) - 0.01


def test_terminal_progress_shows_the_phase_row():
    from types import SimpleNamespace

    from r1lite.progress import phase
    from r1lite.train.callbacks import RichProgress

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    progress = RichProgress(["accuracy"], "accuracy", table_every=0, console=console)
    progress.on_train_begin(SimpleNamespace(heldout_every=0), _state(), None)
    with phase("held-out before", "(step 0)"):
        progress.progress.refresh()
    progress.on_train_end(None, _state(), None)
    text = out.getvalue()
    assert "held-out before" in text and "GRPO" in text and "0/10" in text

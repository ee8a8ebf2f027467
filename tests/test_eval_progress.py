"""Long evaluations show progress with a rate and an ETA, also when the output is a log file (issue 23)."""

from __future__ import annotations

import io
import re
import time

from rich.console import Console

from r1lite.progress import CountProgress, format_duration


def test_plain_lines_with_rate_and_eta_when_not_a_terminal() -> None:
    out = io.StringIO()
    with CountProgress("gsm8k", 10, every=0.0, stream=out, console=Console(file=io.StringIO())) as bar:
        time.sleep(0.05)
        bar.advance(2, tokens=100)
        assert bar.eta_seconds() is not None and 0 < bar.eta_seconds() < 5 * 4 * 0.05 + 1
        bar.advance(3, tokens=50)
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("gsm8k: 2/10 problems (20.0%)") and "/min" in lines[0] and "tok/s" in lines[0]
    assert re.search(r"elapsed \d+s  eta \d+s$", lines[0])
    assert lines[-1].startswith("gsm8k: 5/10 problems (50.0%)")  # and once more at the end


def test_lines_are_spaced_and_nothing_when_disabled() -> None:
    out = io.StringIO()
    with CountProgress("math500", 100, every=3600, stream=out, console=Console(file=io.StringIO())) as bar:
        for _ in range(50):
            bar.advance(1)
    assert len(out.getvalue().strip().splitlines()) == 1  # only the closing line
    quiet = io.StringIO()
    with CountProgress("x", 3, enabled=False, stream=quiet) as bar:
        bar.advance(3)
    assert quiet.getvalue() == ""


def test_terminal_gets_the_rich_bar() -> None:
    screen = io.StringIO()
    with CountProgress("svamp", 4, console=Console(file=screen, force_terminal=True, width=150)) as bar:
        bar.advance(4, tokens=40)
    assert "svamp" in screen.getvalue() and "4/4" in screen.getvalue() and "/min" in screen.getvalue()


def test_durations_read_as_hours_minutes_seconds() -> None:
    assert [format_duration(s) for s in (3, 123, 3723, -1)] == ["3s", "2m03s", "1h02m03s", "0s"]


def test_sigterm_stops_an_evaluation_as_ctrl_c_does(monkeypatch, capsys) -> None:
    """``kill PID`` (or ``timeout``) leaves a resumable run and says so, like Ctrl-C; the handler is put back."""
    import os
    import signal
    from types import SimpleNamespace

    from r1lite.eval import evaluate

    def run(args, argv):
        args.store = SimpleNamespace(records={i: {} for i in range(12)}, path="DIR/samples.jsonl")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal arrives first
        return 0

    monkeypatch.setattr(evaluate, "run", run)
    assert evaluate.main(["--model", "m", "--benchmarks", "gsm8k"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "terminated; 12 samples kept in DIR/samples.jsonl: run the same command again to resume" in err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def interrupted(args, argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "run", interrupted)
    assert evaluate.main(["--model", "m", "--benchmarks", "gsm8k"]) == 130
    assert "interrupted before any sample was generated" in capsys.readouterr().err

"""The verify worker process: ``python worker.py --worker R W`` answers jobs over two pipe fds.

Run as a plain script by :class:`r1lite.rewards.pool.VerifyPool`, never imported by r1lite itself. It
loads its sibling modules (:mod:`guards`, :mod:`normalize`, :mod:`mvcheck`, :mod:`warmup`) as a private
package, so it imports only the standard library and math-verify, whatever way r1lite was installed,
and never runs ``r1lite/__init__`` (torch, transformers). A job is ``(kind, pred, gold, timeout)``:

* ``"mv"``: the math-verify checker's verdict, as a plain tuple (a ``Verdict`` would not unpickle in the
  caller, where the class lives in another module);
* ``"gold"``: can the gold be graded (:func:`mvcheck.gold_verdict`);
* ``"call:PATH:FUNC"``: ``FUNC(pred, gold)`` from the standard-library-only module at ``PATH`` (e.g. the
  evaluator's independent sympy checker), under the same deadline; None on a timeout or error.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import sys
import types
from dataclasses import astuple
from multiprocessing.connection import Connection
from typing import Any

PACKAGE = "_r1lite_verify"


def load_checker_package() -> types.ModuleType:
    """The sibling modules as package ``_r1lite_verify`` (relative imports work, no ``__init__`` runs)."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # a script's folder comes first on sys.path; its files must not shadow libraries
    pkg = types.ModuleType(PACKAGE)
    pkg.__path__ = [here]  # type: ignore[attr-defined]
    sys.modules[PACKAGE] = pkg
    return pkg


_CALLABLES: dict[str, Any] = {}


def _callable(kind: str) -> Any:
    """``FUNC`` of ``call:PATH:FUNC``, its module loaded once from ``PATH``."""
    fn = _CALLABLES.get(kind)
    if fn is None:
        path, _, name = kind[len("call:"):].rpartition(":")
        spec = importlib.util.spec_from_file_location(f"_r1lite_call_{len(_CALLABLES)}", path)
        if spec is None or spec.loader is None:
            raise ImportError(path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        fn = _CALLABLES[kind] = getattr(module, name)
    return fn


def main(conn_in: Connection, conn_out: Connection) -> None:
    """Worker loop: receive ``(kind, pred, gold, timeout)``, reply with a plain tuple or value."""
    load_checker_package()
    mvcheck = importlib.import_module(f"{PACKAGE}.mvcheck")
    warmup = importlib.import_module(f"{PACKAGE}.warmup")
    mvcheck.quiet_math_verify()
    try:  # a pathological item must not eat the machine's memory
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, resource.RLIM_INFINITY))
    except (ImportError, ValueError, OSError):
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    warmup.two_stage_latex_parsing(os.environ.get("R1LITE_TWO_STAGE_PARSE", "1") != "0")
    try:  # lazy imports and parser tables, before the first item; a failure only costs speed
        warmup.warm_up_worker()
    except Exception:  # noqa: BLE001 - a new math-verify may reject a warm-up string
        pass
    conn_out.send("ready")
    while True:
        try:
            msg = conn_in.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        kind, pred, gold, timeout = msg
        if kind == "mv":
            out: Any = astuple(mvcheck.check_answer(pred, gold, timeout))
        elif kind == "gold":
            out = astuple(mvcheck.gold_verdict(gold, timeout))
        else:
            out = _call(mvcheck, kind, pred, gold, timeout)
        conn_out.send(out)


def _call(mvcheck: Any, kind: str, pred: str, gold: str, timeout: float) -> Any:
    try:
        with mvcheck.deadline(timeout):
            return _callable(kind)(pred, gold)
    except mvcheck.Deadline:
        return None
    except Exception:  # noqa: BLE001 - an opinion we cannot form is None, never a crash
        return None


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--worker":
    main(Connection(int(sys.argv[2]), writable=False), Connection(int(sys.argv[3]), readable=False))

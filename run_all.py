#!/usr/bin/env python
"""Produce the quarterly customer analysis report: ``python run_all.py --quarter 2026Q3``.

See ``python run_all.py --help`` (it lists the exit codes) and the README.
"""
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))  # works before `pip install -e .` too

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# nbformat (which papermill and nbconvert read and write notebooks with) imports jsonschema, which
# imports rfc3987_syntax when it is installed, for its "iri" format checks; that module builds a
# grammar on import, 1.6 s of the runner's 4.0 s start on a 2-core machine. Notebooks are validated
# without format checks, so the run does without it: a None entry in sys.modules makes the import
# fail as for a module that is not installed, which jsonschema allows for.
UNUSED_SLOW_IMPORTS = ("rfc3987_syntax",)


class StoppedWhileStarting(BaseException):
    """SIGINT or SIGTERM while the runner is imported, before it handles signals itself."""


def stop_while_starting(signum, _frame):
    raise StoppedWhileStarting(signum)


def load_runner():
    """``helpers.report.runner.main``. The imports take seconds; a signal meanwhile ends the start with
    the same one line and exit code as a signal during the run."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, stop_while_starting)
    for module in UNUSED_SLOW_IMPORTS:
        sys.modules.setdefault(module, None)
    try:
        from helpers.report.runner import main

        # ``main`` installs its own handlers and puts these back when the run is over.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    except StoppedWhileStarting as stop:
        print("interrupted: nothing was written", file=sys.stderr)
        sys.exit(128 + stop.args[0])
    return main


if __name__ == "__main__":
    sys.exit(load_runner()())

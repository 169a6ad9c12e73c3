#!/usr/bin/env python
"""Produce the quarterly customer analysis report: ``python run_all.py --quarter 2026Q3``.

See ``python run_all.py --help`` and the README.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))  # works before `pip install -e .` too

from helpers.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

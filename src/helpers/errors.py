"""Errors that tell the user which file, which column, which rows and how to fix it."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.report.i18n import t


class DataError(ValueError):
    """Input data that cannot be used as it is. Raised before any chapter runs."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        examples: pd.DataFrame | None = None,
        fix: str | None = None,
    ):
        self.problem, self.file, self.column, self.fix = problem, file, column, fix
        self.examples = examples.head(5) if examples is not None else None
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.column:
            where.append(f"column '{self.column}'")
        lines = [f"Data error in {', '.join(where)}: {self.problem}" if where else f"Data error: {self.problem}"]
        if self.examples is not None and len(self.examples):
            lines.append("Example rows:")
            lines.extend("  " + line for line in self.examples.to_string(max_colwidth=40).splitlines())
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        return "\n".join(lines)


class NotAvailable(Exception):
    """A section cannot run on this data: what is missing and what would enable it.

    Raised by a helper (or by the section check) and shown as one line in place of the section;
    the chapter goes on. ``missing`` says what the data lacks ("events of one type only"),
    ``enable`` what would make the section possible ("events with at least two of visit,
    product_view, add_to_cart, purchase (events.event_type)").
    """

    def __init__(self, missing: str, enable: str = ""):
        self.missing, self.enable = missing, enable
        super().__init__(self.line())

    def line(self) -> str:
        """The section's line in the report's language: "Not available: <missing>; <enable>."."""
        if self.enable:
            return t("Not available: {missing}; {enable}.", missing=self.missing, enable=self.enable)
        return t("Not available: {missing}.", missing=self.missing)

"""Quarter arithmetic in one place: the quarter, the previous one, a year ago, trailing quarters."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter such as ``2026Q3``."""

    year: int
    q: int

    @classmethod
    def parse(cls, text: str | "Quarter") -> "Quarter":
        if isinstance(text, Quarter):
            return text
        match = _QUARTER_RE.match(str(text).strip().upper())
        if not match:
            raise ValueError(f"quarter {text!r} is not of the form YYYYQn, for example 2026Q3")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day) -> "Quarter":
        day = pd.Timestamp(day)
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.year, 3 * (self.q - 1) + 1, 1)

    @property
    def end(self) -> pd.Timestamp:
        """Last instant of the quarter (inclusive upper bound for timestamps)."""
        return self.shift(1).start - pd.Timedelta(1, "ns")

    @property
    def last_day(self) -> pd.Timestamp:
        return self.shift(1).start - pd.Timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.shift(1).start - self.start).days

    def shift(self, quarters: int) -> "Quarter":
        index = self.year * 4 + (self.q - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)

    def previous(self) -> "Quarter":
        return self.shift(-1)

    def year_ago(self) -> "Quarter":
        return self.shift(-4)

    def trailing(self, n: int = 8) -> list["Quarter"]:
        """The last ``n`` quarters, oldest first, ending with this one."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        return [self.shift(-k) for k in range(n - 1, -1, -1)]

    def contains(self, dates: pd.Series) -> pd.Series:
        """Boolean mask of the dates that fall in this quarter."""
        return (dates >= self.start) & (dates < self.shift(1).start)


def quarter_labels(dates: pd.Series) -> pd.Series:
    """Vectorised ``YYYYQn`` label of each date."""
    dates = pd.to_datetime(dates)
    return dates.dt.year.astype("Int64").astype(str) + "Q" + dates.dt.quarter.astype("Int64").astype(str)

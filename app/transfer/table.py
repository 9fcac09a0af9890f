"""Pure: an uploaded CSV file → rows keyed by column, each with the line it starts on.

Problems are collected, not raised one at a time, so a rejected file lists all of them at once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.transfer import cells

# Enough to fix a file by; a file wrong on every line would otherwise answer with megabytes.
MAX_LISTED = 1000


@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class Rejected(Exception):
    """The file has problems; nothing was imported."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        n = len(self.problems)
        return f"{n} problem{'s' if n != 1 else ''} in the file; nothing was imported"

    @property
    def listed(self) -> list[Problem]:
        return self.problems[:MAX_LISTED]


@dataclass(frozen=True)
class Row:
    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str | None:
        """The cell's value, or None when the cell is empty or the column absent."""
        return self.cells.get(column) or None


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def decode(data: bytes) -> str:
    """UTF-8, with or without the byte order mark spreadsheets write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Rejected(
            [
                Problem(
                    line,
                    f"not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as "
                    "'CSV UTF-8' or convert it to UTF-8",
                )
            ]
        ) from exc


def read(
    text: str,
    *,
    columns: Sequence[str],
    required: Sequence[str] = (),
    one_of: Sequence[str] = (),
    ignored: Sequence[str] = (),
) -> Table:
    """Rows of `text` under a header naming some of `columns` (any case, any order).

    `ignored` columns are allowed and skipped; any other unknown column is a problem, since its
    data would silently be lost. A missing `required` column, or none of `one_of`, rejects the
    file at once: no row can be read without it.
    """
    if not text.strip():
        raise Rejected([Problem(1, "empty file: a header row naming the columns is required")])
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    # Spreadsheets in locales with a decimal comma save CSV with semicolons.
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    # Only CR and LF end lines (str.splitlines would also split at U+2028 inside a name).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise Rejected([Problem(1, f"unreadable header: {exc}")]) from exc
    table = Table(columns=tuple(h for h in header if h in columns))
    _check_header(header, table, columns, required, one_of, ignored)
    keep = {i: h for i, h in enumerate(header) if h in columns}
    unnamed = {i for i, h in enumerate(header) if not h}
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The reader cannot find where the broken record ends: report it and stop.
            table.problems.append(Problem(start, f"unreadable CSV: {exc} (check the quotes)"))
            break
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue  # blank lines and rows of empty cells are not data
        if len(record) > len(header) and any(c.strip() for c in record[len(header) :]):
            table.problems.append(
                Problem(line, f"{len(record)} cells but the header has {len(header)} columns")
            )
            continue
        if any(record[i].strip() for i in unnamed if i < len(record)):
            table.problems.append(Problem(line, "a value under a column without a header name"))
        values = {
            name: cells.unescape(record[i].strip()) for i, name in keep.items() if i < len(record)
        }
        table.rows.append(Row(line, values))
    return table


def _check_header(
    header: list[str],
    table: Table,
    columns: Sequence[str],
    required: Sequence[str],
    one_of: Sequence[str],
    ignored: Sequence[str],
) -> None:
    missing = [c for c in required if c not in header]
    if one_of and not any(c in header for c in one_of):
        missing.append(" or ".join(one_of))
    if missing:
        raise Rejected(
            [
                Problem(
                    1,
                    f"the header needs the column{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(missing)}; found: {', '.join(h for h in header if h) or 'none'}",
                )
            ]
        )
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            table.problems.append(Problem(1, f"column {name!r} appears twice"))
        seen.add(name)
        if name and name not in columns and name not in ignored:
            table.problems.append(
                Problem(1, f"unknown column {name!r}; the columns are: {', '.join(columns)}")
            )

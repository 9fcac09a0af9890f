"""Scores of the intent detector on a labelled set in the dev-set JSONL format.

evaluate() is pure (rows in, Report out); read_rows() and run_eval() read the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from app.tagging.intent import INTENT_LEVELS, INTERESTS, Detector, default_detector

NULL: Final = "null"  # the intent class of a message with no signal
INTENT_CLASSES: Final = (*INTENT_LEVELS, NULL)
_MISSES_SHOWN: Final = 40


@dataclass(frozen=True)
class Row:
    id: str
    lang: str
    text: str
    intent: str | None
    interests: frozenset[str]
    opt_out: bool


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float | None:
        found = self.tp + self.fp
        return self.tp / found if found else None

    @property
    def recall(self) -> float | None:
        expected = self.tp + self.fn
        return self.tp / expected if expected else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Scores:
    """Scores over one group of rows (a language, or all)."""

    rows: int
    intent_correct: int
    intent: Mapping[str, Counts]  # per class, "null" included
    interests: Counts  # micro-averaged over the five interests
    opt_out: Counts
    language_correct: int

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.rows if self.rows else 0.0

    @property
    def false_opt_outs(self) -> int:
        return self.opt_out.fp

    @property
    def language_accuracy(self) -> float:
        return self.language_correct / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class Miss:
    """A row where the detector disagreed with the label."""

    row: Row
    intent: str | None
    interests: frozenset[str]
    opt_out: bool


@dataclass(frozen=True)
class Report:
    overall: Scores
    languages: Mapping[str, Scores]  # in the order the languages first appear
    misses: tuple[Miss, ...]


def _row(data: Mapping[str, Any], where: str) -> Row:
    try:
        intent = data["intent"]
        if intent is not None and intent not in INTENT_LEVELS:
            raise ValueError(f"unknown intent {intent!r}")
        interests = frozenset(data.get("interests") or ())
        if not interests <= set(INTERESTS):
            raise ValueError(f"unknown interests {sorted(interests - set(INTERESTS))}")
        return Row(
            id=str(data.get("id", where)),
            lang=str(data["lang"]),
            text=str(data["text"]),
            intent=intent,
            interests=interests,
            opt_out=bool(data.get("opt_out", False)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc!s}") from exc


def read_rows(path: Path) -> list[Row]:
    """The labelled rows of a JSONL file; blank lines are skipped."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                rows.append(_row(json.loads(line), f"{path.name}:{number}"))
    return rows


def _scores(
    rows: list[Row], got: list[tuple[str | None, frozenset[str], bool, str | None]]
) -> Scores:
    intent = dict.fromkeys(INTENT_CLASSES, Counts())
    interests = opt_out = Counts()
    intent_correct = language_correct = 0
    for row, (g_intent, g_interests, g_opt_out, g_language) in zip(rows, got, strict=True):
        expected, found = row.intent or NULL, g_intent or NULL
        if expected == found:
            intent_correct += 1
            intent[found] += Counts(tp=1)
        else:
            intent[found] += Counts(fp=1)
            intent[expected] += Counts(fn=1)
        interests += Counts(
            tp=len(row.interests & g_interests),
            fp=len(g_interests - row.interests),
            fn=len(row.interests - g_interests),
        )
        opt_out += Counts(
            tp=int(row.opt_out and g_opt_out),
            fp=int(g_opt_out and not row.opt_out),
            fn=int(row.opt_out and not g_opt_out),
        )
        language_correct += int(g_language == row.lang)
    return Scores(len(rows), intent_correct, intent, interests, opt_out, language_correct)


def evaluate(rows: Iterable[Row | Mapping[str, Any]], detector: Detector) -> Report:
    """Run detector over labelled rows (Row objects or dev-set dicts) and score it."""
    labelled = [r if isinstance(r, Row) else _row(r, f"row {i + 1}") for i, r in enumerate(rows)]
    got = []
    misses = []
    for row in labelled:
        signals = detector.detect(row.text)
        got.append((signals.intent, signals.interests, signals.opt_out, signals.language))
        if (signals.intent, signals.interests, signals.opt_out) != (
            row.intent,
            row.interests,
            row.opt_out,
        ):
            misses.append(Miss(row, signals.intent, signals.interests, signals.opt_out))
    by_language: dict[str, list[int]] = {}
    for i, row in enumerate(labelled):
        by_language.setdefault(row.lang, []).append(i)
    languages = {
        lang: _scores([labelled[i] for i in idx], [got[i] for i in idx])
        for lang, idx in by_language.items()
    }
    return Report(_scores(labelled, got), languages, tuple(misses))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _prf(counts: Counts) -> str:
    return f"{_pct(counts.precision)}/{_pct(counts.recall)}/{_pct(counts.f1)}"


def format_report(report: Report) -> str:
    """A plain-text table: one line per language and overall, then per-class intent scores."""
    header = (
        f"{'lang':<8}{'rows':>5}  {'intent acc':>10}  {'interests P/R/F1':>17}"
        f"  {'opt-out P/R/F1':>15}  {'false opt-outs':>14}  {'lang acc':>8}"
    )
    lines = [header, "-" * len(header)]
    groups = [*report.languages.items(), ("overall", report.overall)]
    for name, s in groups:
        if name == "overall":
            lines.append("-" * len(header))
        lines.append(
            f"{name:<8}{s.rows:>5}  {s.intent_accuracy:>10.3f}  {_prf(s.interests):>17}"
            f"  {_prf(s.opt_out):>15}  {s.false_opt_outs:>14}  {s.language_accuracy:>8.3f}"
        )
    lines += ["", "intent per class (P/R/F1, support):"]
    lines.append(f"{'lang':<8}" + "".join(f"{c:>22}" for c in INTENT_CLASSES))
    for name, s in groups:
        cells = "".join(
            f"{_prf(c) + f' ({c.tp + c.fn})':>22}" for c in (s.intent[k] for k in INTENT_CLASSES)
        )
        lines.append(f"{name:<8}{cells}")
    if report.misses:
        lines += ["", f"disagreements ({len(report.misses)}):"]
        for miss in report.misses[:_MISSES_SHOWN]:
            row = miss.row
            lines.append(
                f"  {row.id}: intent {row.intent or NULL}→{miss.intent or NULL}"
                f" interests {sorted(row.interests)}→{sorted(miss.interests)}"
                f" opt-out {row.opt_out}→{miss.opt_out}  {row.text!r}"
            )
        if len(report.misses) > _MISSES_SHOWN:
            lines.append(f"  … and {len(report.misses) - _MISSES_SHOWN} more")
    return "\n".join(lines)


def run_eval(path: Path, detector: Detector | None = None) -> str:
    """Evaluate the detector (default: the packaged vocabulary) on a JSONL file; a table."""
    return format_report(evaluate(read_rows(path), detector or default_detector()))

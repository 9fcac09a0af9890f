"""The detector against the labelled dev set, and the scoring that measures it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.tagging.evaluation import Counts, Row, evaluate, read_rows, run_eval
from app.tagging.intent import Detector, default_detector

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "dev-sets" / "intents.jsonl"
LANGUAGES = ("en", "de", "es", "pt", "fr", "id", "hi", "ar", "zh", "vi")


@pytest.fixture(scope="module")
def dev_rows() -> list[Row]:
    if not DEV_SET.is_file():
        pytest.skip(f"the labelled dev set is not checked out next to the project ({DEV_SET})")
    return read_rows(DEV_SET)


def test_dev_set_targets(dev_rows: list[Row]) -> None:
    report = evaluate(dev_rows, default_detector())
    assert report.overall.rows == len(dev_rows)
    assert report.overall.intent_accuracy >= 0.90
    assert report.overall.opt_out.recall == 1.0
    assert report.overall.false_opt_outs == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_dev_set_targets_per_language(dev_rows: list[Row], language: str) -> None:
    scores = evaluate(dev_rows, default_detector()).languages[language]
    assert scores.intent_accuracy >= 0.85
    assert scores.opt_out.recall == 1.0
    assert scores.false_opt_outs == 0


# --- the scoring itself, on rows small enough to check by hand ---------------------------------

ROWS = [
    {"id": "a", "lang": "en", "text": "how much?", "intent": "high", "interests": []},
    {"id": "b", "lang": "en", "text": "any discount?", "intent": "high", "interests": []},
    {"id": "c", "lang": "en", "text": "who is this", "intent": None, "interests": []},
    {"id": "d", "lang": "de", "text": "STOP", "intent": "none", "opt_out": True},
    {"id": "e", "lang": "de", "text": "ich hör auf zu fragen", "intent": "potential"},
]


def test_scores_by_hand() -> None:
    report = evaluate(ROWS, default_detector())
    overall = report.overall
    # a, c, d right; e is null, not potential; b is high but discount_sensitive is unlabelled.
    assert (overall.rows, overall.intent_correct) == (5, 4)
    assert overall.intent["high"] == Counts(tp=2)
    assert overall.intent["null"] == Counts(tp=1, fp=1)
    assert overall.intent["potential"] == Counts(fn=1)
    assert overall.interests == Counts(fp=1)
    assert (overall.interests.precision, overall.interests.recall) == (0.0, None)
    assert overall.opt_out == Counts(tp=1)
    assert report.languages["en"].intent_accuracy == 1.0
    assert report.languages["de"].intent_accuracy == 0.5
    assert [miss.row.id for miss in report.misses] == ["b", "e"]


COUNTS = [
    (Counts(), None, None, None),
    (Counts(tp=3, fp=1), 0.75, 1.0, 6 / 7),
    (Counts(tp=0, fp=2, fn=2), 0.0, 0.0, 0.0),
]


@pytest.mark.parametrize(("counts", "precision", "recall", "f1"), COUNTS, ids=str)
def test_precision_recall_f1(
    counts: Counts, precision: float | None, recall: float | None, f1: float | None
) -> None:
    assert (counts.precision, counts.recall, counts.f1) == (precision, recall, f1)


def test_run_eval_prints_a_table(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in ROWS) + "\n\n", encoding="utf-8")
    table = run_eval(path, Detector.load())
    assert table.splitlines()[0].split()[:3] == ["lang", "rows", "intent"]
    assert any(line.startswith("overall") for line in table.splitlines())
    assert "disagreements (2)" in table


BAD_ROWS = [
    ("no text", {"lang": "en", "intent": None}),
    ("unknown intent", {"lang": "en", "text": "x", "intent": "urgent"}),
    ("unknown interest", {"lang": "en", "text": "x", "intent": None, "interests": ["vip"]}),
]


@pytest.mark.parametrize(("case", "row"), BAD_ROWS, ids=[r[0] for r in BAD_ROWS])
def test_bad_rows_name_their_line(tmp_path: Path, case: str, row: dict[str, object]) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        read_rows(path)

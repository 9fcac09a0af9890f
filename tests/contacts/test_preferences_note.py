"""Pure: communication preferences and the one-line note format from the seeds."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.contacts import preferences_note
from app.contacts.preferences_note import (
    FORMATS,
    WEEKDAYS,
    Preferences,
    PreferencesError,
    Window,
    parse_note,
    render_note,
)

MON_FRI = frozenset(range(5))
WEEKEND = frozenset({5, 6})
EVERY_DAY = frozenset(range(7))
NIGHT_OWL = Window(EVERY_DAY, time(20), time(23))
OFFICE = Window(MON_FRI, time(9), time(18))


def days(*names: str) -> frozenset[int]:
    return frozenset(WEEKDAYS.index(n) for n in names)


def at(day: str, clock: str) -> datetime:
    """A naive local moment in the week of Monday 2024-01-01."""
    monday = date(2024, 1, 1)
    return datetime.combine(monday + timedelta(days=WEEKDAYS.index(day)), time.fromisoformat(clock))


# --- the seeds' example ---------------------------------------------------------------------------

SEED_NOTE = "Mr. Wang | prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week"
SEED_PREFS = Preferences(salutation="Mr. Wang", windows=(OFFICE,), format="text", max_per_week=2)


def test_seed_example_round_trips() -> None:
    prefs = parse_note(SEED_NOTE)
    assert prefs == SEED_PREFS
    assert render_note(prefs) == SEED_NOTE


def test_german_seed_example_reads_the_same() -> None:
    note = (
        "Herr Wang | Bevorzugt Textkommunikation | Erreichbar Mo–Fr 9-18 Uhr "
        "| Maximal 2 Push-Nachrichten pro Woche"
    )
    prefs = parse_note(note)
    assert prefs == replace(SEED_PREFS, salutation="Herr Wang")
    assert render_note(prefs) == SEED_NOTE.replace("Mr. Wang", "Herr Wang")


# --- each form, in English and German -------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        pytest.param("prefers text", "text", id="en-text"),
        pytest.param("Prefers Text", "text", id="en-text-case"),
        pytest.param("prefers voice", "voice", id="en-voice"),
        pytest.param("prefers voice messages", "voice", id="en-voice-messages"),
        pytest.param("prefers images", "image_text", id="en-images"),
        pytest.param("image+text", "image_text", id="en-image+text-bare"),
        pytest.param("prefers image + text", "image_text", id="en-image+text-spaced"),
        pytest.param("prefers video", "video", id="en-video"),
        pytest.param("bevorzugt Text", "text", id="de-text"),
        pytest.param("Bevorzugt Textkommunikation", "text", id="de-textkommunikation-seed"),
        pytest.param("bevorzugt Sprachnachrichten", "voice", id="de-voice"),
        pytest.param("Sprachnachrichten-bevorzugend", "voice", id="de-voice-suffix-seed"),
        pytest.param("bevorzugt Bilder", "image_text", id="de-images"),
        pytest.param("bevorzugt Bilder und Text", "image_text", id="de-images-and-text"),
        pytest.param("bevorzugt Video", "video", id="de-video"),
        pytest.param("Videoanrufe bevorzugt", "video", id="de-video-suffix"),
    ],
)
def test_format_forms(segment: str, expected: str) -> None:
    assert parse_note(segment).format == expected


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        pytest.param("reachable Mon-Fri 9-18", (OFFICE,), id="en-range"),
        pytest.param(
            "reachable Mon, Wed, Fri 18:30-21",
            (Window(days("mon", "wed", "fri"), time(18, 30), time(21)),),
            id="en-day-list",
        ),
        pytest.param("reachable weekdays 9-18", (OFFICE,), id="en-weekdays"),
        pytest.param(
            "reachable weekends 10-14", (Window(WEEKEND, time(10), time(14)),), id="en-weekends"
        ),
        pytest.param("reachable daily 20-23", (NIGHT_OWL,), id="en-daily"),
        pytest.param("night owl", (NIGHT_OWL,), id="en-night-owl"),
        pytest.param(
            "reachable Mon-Fri 9-12, Sat 10-14",
            (Window(MON_FRI, time(9), time(12)), Window(days("sat"), time(10), time(14))),
            id="en-two-windows-comma",
        ),
        pytest.param(
            "reachable Mon-Fri 9-12; Sat 10-14",
            (Window(MON_FRI, time(9), time(12)), Window(days("sat"), time(10), time(14))),
            id="en-two-windows-semicolon",
        ),
        pytest.param(
            "reachable Sat and Sun 10-14", (Window(WEEKEND, time(10), time(14)),), id="en-and-days"
        ),
        pytest.param(
            "reachable Mon-Fri 9-12 and 14-18",
            (Window(MON_FRI, time(9), time(12)), Window(MON_FRI, time(14), time(18))),
            id="en-range-repeats-days",
        ),
        pytest.param(
            "reachable 9-18", (Window(EVERY_DAY, time(9), time(18)),), id="en-no-days-is-daily"
        ),
        pytest.param(
            "reachable Fri-Mon 22-2",
            (Window(days("fri", "sat", "sun", "mon"), time(22), time(2)),),
            id="en-wrapping-days-and-midnight",
        ),
        pytest.param(
            "reachable Mon-Fri from 9 to 17:30",
            (Window(MON_FRI, time(9), time(17, 30)),),
            id="en-from-to",
        ),
        pytest.param("reachable weekdays", (OFFICE,), id="en-weekdays-office-hours"),
        pytest.param("erreichbar Mo-Fr 9-18", (OFFICE,), id="de-range"),
        pytest.param("Erreichbar Mo–Fr 9-18 Uhr", (OFFICE,), id="de-en-dash-uhr-seed"),
        pytest.param("erreichbar werktags 9-18", (OFFICE,), id="de-werktags"),
        pytest.param(
            "erreichbar am Wochenende 10-14",
            (Window(WEEKEND, time(10), time(14)),),
            id="de-wochenende",
        ),
        pytest.param("erreichbar täglich 20-23", (NIGHT_OWL,), id="de-taeglich"),
        pytest.param("Nachteule", (NIGHT_OWL,), id="de-nachteule"),
        pytest.param("nachts aktiv", (NIGHT_OWL,), id="de-nachts-aktiv-seed"),
        pytest.param("wochentags erreichbar", (OFFICE,), id="de-wochentags-suffix-seed"),
        pytest.param(
            "erreichbar Mo, Mi und Fr 18.30-21 Uhr",
            (Window(days("mon", "wed", "fri"), time(18, 30), time(21)),),
            id="de-list-und",
        ),
        pytest.param(
            "erreichbar Mo bis Fr von 9 bis 12 Uhr, Sa 10-14",
            (Window(MON_FRI, time(9), time(12)), Window(days("sat"), time(10), time(14))),
            id="de-bis",
        ),
    ],
)
def test_window_forms(segment: str, expected: tuple[Window, ...]) -> None:
    assert parse_note(segment).windows == expected


def test_window_segments_add_up() -> None:
    prefs = parse_note("reachable Mon-Fri 9-18 | night owl")
    assert prefs.windows == (OFFICE, NIGHT_OWL)


@pytest.mark.parametrize(
    ("segment", "start", "end"),
    [
        pytest.param("quiet 22-8", time(22), time(8), id="en-quiet"),
        pytest.param("quiet 21:30-7", time(21, 30), time(7), id="en-quiet-minutes"),
        pytest.param("quiet hours 23-6", time(23), time(6), id="en-quiet-hours"),
        pytest.param("do not disturb at night", time(22), time(8), id="en-dnd-night"),
        pytest.param("no messages after 21", time(21), time(8), id="en-after"),
        pytest.param("no messages before 9", time(22), time(9), id="en-before"),
        pytest.param("nicht stören 22-8", time(22), time(8), id="de-nicht-stoeren"),
        pytest.param("nicht stören 23-7 Uhr", time(23), time(7), id="de-nicht-stoeren-uhr"),
        pytest.param("nachts nicht stören", time(22), time(8), id="de-nachts"),
        pytest.param("Nicht nachts stören", time(22), time(8), id="de-nachts-seed"),
        pytest.param("keine Nachrichten nach 21 Uhr", time(21), time(8), id="de-after"),
        pytest.param("nicht vor 9 Uhr", time(22), time(9), id="de-before"),
    ],
)
def test_quiet_forms(segment: str, start: time, end: time) -> None:
    prefs = parse_note(segment)
    assert (prefs.quiet_start, prefs.quiet_end) == (start, end)


def test_quiet_after_and_before_combine() -> None:
    prefs = parse_note("no messages after 21 | no messages before 9")
    assert (prefs.quiet_start, prefs.quiet_end) == (time(21), time(9))


@pytest.mark.parametrize(
    ("segment", "cap"),
    [
        pytest.param("max 2 pushes per week", 2, id="en-max-pushes"),
        pytest.param("max 3 per week", 3, id="en-max-per-week"),
        pytest.param("at most 1 message a week", 1, id="en-at-most"),
        pytest.param("max 1 push per week", 1, id="en-singular"),
        pytest.param("twice a week", 2, id="en-twice"),
        pytest.param("max 0 pushes per week", 0, id="en-zero"),
        pytest.param("max 2 Pushes pro Woche", 2, id="de-max-pushes"),
        pytest.param("höchstens 2 Nachrichten pro Woche", 2, id="de-hoechstens"),
        pytest.param("Maximal 2 Push-Nachrichten pro Woche", 2, id="de-maximal-seed"),
        pytest.param("2x pro Woche", 2, id="de-2x-seed"),
    ],
)
def test_cap_forms(segment: str, cap: int) -> None:
    assert parse_note(segment).max_per_week == cap


@pytest.mark.parametrize(
    "segment",
    [
        pytest.param("passive", id="en-passive"),
        pytest.param("I'll get in touch when I need it", id="en-get-in-touch"),
        pytest.param("I’ll get in touch when I need it.", id="en-curly-apostrophe"),
        pytest.param("contacts us when needed", id="en-contacts-us"),
        pytest.param("meldet sich selbst", id="de-meldet-sich"),
        pytest.param("passiv", id="de-passiv"),
        pytest.param("passiv auszulösend", id="de-passiv-seed"),
        pytest.param("Ich melde mich bei Bedarf", id="de-bei-bedarf-seed"),
    ],
)
def test_passive_forms(segment: str) -> None:
    assert parse_note(segment).passive is True


# --- salutation, merging with base ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "salutation"),
    [
        pytest.param("Mr. Wang", "Mr. Wang", id="alone"),
        pytest.param("  Frau  Li  | passive", "Frau  Li", id="trimmed-kept-as-written"),
        pytest.param("Max Müller | prefers text", "Max Müller", id="name-starting-with-max"),
        pytest.param("prefers text | passive", None, id="no-name"),
        pytest.param("| Mr. Wang | passive |", "Mr. Wang", id="blank-segments-ignored"),
    ],
)
def test_salutation_is_the_unrecognised_first_segment(note: str, salutation: str | None) -> None:
    assert parse_note(note).salutation == salutation


def test_fields_not_in_the_note_keep_the_base_values() -> None:
    base = Preferences(
        salutation="Ms. Li",
        windows=(NIGHT_OWL,),
        quiet_start=time(23),
        quiet_end=time(7),
        format="voice",
        max_per_week=4,
        passive=True,
    )
    prefs = parse_note("prefers text | max 1 push per week", base=base)
    assert prefs == Preferences(
        salutation="Ms. Li",
        windows=(NIGHT_OWL,),
        quiet_start=time(23),
        quiet_end=time(7),
        format="text",
        max_per_week=1,
        passive=True,
    )
    assert parse_note("", base=base) == base
    assert parse_note("reachable Sat 10-14", base=base).windows == (
        Window(days("sat"), time(10), time(14)),
    )
    # Only the end the note names moves; the base keeps the other.
    assert parse_note("no messages after 21", base=base).quiet_end == time(7)


# --- canonical rendering --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(SEED_NOTE, id="seed"),
        pytest.param("", id="empty"),
        pytest.param("passive", id="passive-only"),
        pytest.param("Frau Li | prefers voice | passive", id="voice-passive"),
        pytest.param("prefers image+text | max 1 push per week", id="image-text"),
        pytest.param("prefers video | max 0 pushes per week", id="video-zero-cap"),
        pytest.param("reachable Mon, Wed, Fri 18:30-21", id="day-list"),
        pytest.param("reachable Mon-Fri 9-12, Sat, Sun 10-14", id="two-windows"),
        pytest.param("reachable Mon, Thu-Sun 8:15-9:45", id="list-and-range"),
        pytest.param("reachable daily 20-23 | quiet 23-7", id="daily-quiet"),
        pytest.param("reachable Fri 22-2 | quiet 3-9", id="crosses-midnight"),
        pytest.param("reachable daily 20-24", id="ends-at-midnight"),
        pytest.param("reachable daily 0-24", id="whole-day"),
        pytest.param("quiet 21-7", id="quiet-only"),
    ],
)
def test_canonical_notes_render_unchanged(note: str) -> None:
    assert render_note(parse_note(note)) == note


@pytest.mark.parametrize(
    ("note", "canonical"),
    [
        pytest.param("night owl", "reachable daily 20-23", id="preset"),
        pytest.param("do not disturb at night", "", id="default-quiet-dropped"),
        pytest.param("no messages after 21", "quiet 21-8", id="after"),
        pytest.param("reachable Sat and Sun 10-14", "reachable Sat, Sun 10-14", id="pair"),
        pytest.param("reachable Mon-Sun 9:00-18:00", "reachable daily 9-18", id="all-days"),
    ],
)
def test_other_forms_render_canonically(note: str, canonical: str) -> None:
    assert render_note(parse_note(note)) == canonical


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "named"),
    [
        pytest.param("Mr. Wang | likes cats", "likes cats", id="unknown-segment"),
        pytest.param("passive | Herr Li", "Herr Li", id="name-not-first"),
        pytest.param("prefers fax", "prefers fax", id="unknown-format"),
        pytest.param("bevorzugt Brieftauben", "bevorzugt Brieftauben", id="unknown-format-de"),
        pytest.param("reachable Funday 9-18", "reachable Funday 9-18", id="unknown-day"),
        pytest.param("reachable Mon-Fri 9-25", "reachable Mon-Fri 9-25", id="hour-out-of-range"),
        pytest.param("reachable Mon 9:75-18", "reachable Mon 9:75-18", id="minute-out-of-range"),
        pytest.param("reachable Mon 24-8", "reachable Mon 24-8", id="24-as-start"),
        pytest.param("reachable Sat", "reachable Sat", id="days-without-time"),
        pytest.param("reachable", "reachable", id="nothing-reachable"),
        pytest.param("reachable Mon-Fri 9", "reachable Mon-Fri 9", id="half-a-range"),
        pytest.param("reachable weekdays-Sat 9-18", "weekdays-Sat", id="range-of-groups"),
        pytest.param("max 51 pushes per week", "max 51 pushes per week", id="cap-above-50"),
        pytest.param("max -1 pushes per week", "max -1 pushes per week", id="cap-negative"),
        pytest.param("max 2 pushes per month", "max 2 pushes per month", id="cap-per-month"),
        pytest.param("quiet 22", "quiet 22", id="quiet-without-range"),
        pytest.param("no messages after lunch", "no messages after lunch", id="quiet-bad-time"),
        pytest.param("prefers text | prefers voice", "prefers voice", id="format-twice"),
        pytest.param("max 2 per week | max 3 per week", "max 3 per week", id="cap-twice"),
        pytest.param("passive | passiv", "passiv", id="passive-twice"),
        pytest.param("quiet 22-22", "22:00", id="quiet-empty"),
    ],
)
def test_bad_notes_name_the_segment(note: str, named: str) -> None:
    with pytest.raises(PreferencesError) as caught:
        parse_note(note)
    assert named in str(caught.value)


def test_unknown_first_segment_is_a_name_but_a_malformed_keyword_is_not() -> None:
    assert parse_note("Reachability Ltd").salutation == "Reachability Ltd"
    with pytest.raises(PreferencesError, match="reachable Mon-Fri 9-99"):
        parse_note("reachable Mon-Fri 9-99 | Mr. Wang")


# --- windows and quiet hours in time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "moment", "inside"),
    [
        pytest.param(OFFICE, at("mon", "09:00"), True, id="start-inclusive"),
        pytest.param(OFFICE, at("mon", "08:59:59"), False, id="before-start"),
        pytest.param(OFFICE, at("fri", "17:59:59"), True, id="just-before-end"),
        pytest.param(OFFICE, at("fri", "18:00"), False, id="end-exclusive"),
        pytest.param(OFFICE, at("sat", "12:00"), False, id="weekday-only-not-on-saturday"),
        pytest.param(
            Window(days("fri"), time(22), time(2)), at("fri", "22:00"), True, id="x-start"
        ),
        pytest.param(
            Window(days("fri"), time(22), time(2)), at("fri", "23:59"), True, id="x-before-midnight"
        ),
        pytest.param(
            Window(days("fri"), time(22), time(2)), at("sat", "00:00"), True, id="x-midnight"
        ),
        pytest.param(
            Window(days("fri"), time(22), time(2)), at("sat", "01:59"), True, id="x-after-midnight"
        ),
        pytest.param(Window(days("fri"), time(22), time(2)), at("sat", "02:00"), False, id="x-end"),
        pytest.param(
            Window(days("fri"), time(22), time(2)),
            at("fri", "01:00"),
            False,
            id="x-early-hours-belong-to-thursday",
        ),
        pytest.param(
            Window(days("fri"), time(22), time(2)), at("sat", "22:00"), False, id="x-not-saturday"
        ),
        pytest.param(
            Window(days("sun"), time(22), time(2)),
            at("mon", "01:00"),
            True,
            id="x-sunday-night-into-monday",
        ),
        pytest.param(
            Window(EVERY_DAY, time(20), time(0)), at("tue", "23:59"), True, id="to-midnight"
        ),
        pytest.param(
            Window(days("tue"), time(20), time(0)),
            at("wed", "00:00"),
            False,
            id="to-midnight-end-exclusive",
        ),
        pytest.param(
            Window(days("mon"), time(9), time(9)), at("tue", "08:59"), True, id="24h-window"
        ),
        pytest.param(
            Window(days("mon"), time(9), time(9)), at("tue", "09:00"), False, id="24h-window-end"
        ),
        pytest.param(
            OFFICE,
            datetime(2024, 1, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
            True,
            id="aware-uses-its-wall-clock",
        ),
    ],
)
def test_window_contains(window: Window, moment: datetime, inside: bool) -> None:
    assert window.contains(moment) is inside


@pytest.mark.parametrize(
    ("prefs", "moment", "reachable"),
    [
        pytest.param(Preferences(), at("sat", "12:00"), True, id="no-windows-any-day"),
        pytest.param(Preferences(), at("sat", "22:00"), False, id="default-quiet-start"),
        pytest.param(Preferences(), at("sun", "07:59"), False, id="default-quiet-before-end"),
        pytest.param(Preferences(), at("sun", "08:00"), True, id="default-quiet-end"),
        pytest.param(Preferences(windows=(OFFICE,)), at("sat", "12:00"), False, id="window-day"),
        pytest.param(
            Preferences(windows=(NIGHT_OWL,), quiet_start=time(21), quiet_end=time(8)),
            at("wed", "21:30"),
            False,
            id="quiet-beats-window",
        ),
        pytest.param(
            Preferences(quiet_start=time(1), quiet_end=time(6)),
            at("wed", "23:00"),
            True,
            id="quiet-not-crossing-midnight",
        ),
    ],
)
def test_reachable_at(prefs: Preferences, moment: datetime, reachable: bool) -> None:
    assert prefs.reachable_at(moment) is reachable


# --- dict form ------------------------------------------------------------------------------------


def test_to_dict_shape() -> None:
    assert SEED_PREFS.to_dict() == {
        "salutation": "Mr. Wang",
        "windows": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}
        ],
        "quiet_hours": {"start": "22:00", "end": "08:00"},
        "format": "text",
        "max_per_week": 2,
        "passive": False,
    }
    assert Preferences.from_dict({}) == Preferences()
    assert Preferences.from_dict(
        {"windows": [{"days": ["fri"], "start": "20:00", "end": "24:00"}]}
    ).windows == (Window(days("fri"), time(20), time(0)),)


def window_dict(**overrides: Any) -> dict[str, Any]:
    return {"windows": [{"days": ["mon"], "start": "09:00", "end": "18:00", **overrides}]}


@pytest.mark.parametrize(
    ("data", "named"),
    [
        pytest.param(window_dict(days=["funday"]), "funday", id="unknown-day"),
        pytest.param(window_dict(days=[]), "days", id="no-days"),
        pytest.param(window_dict(days="mon"), "days", id="days-not-a-list"),
        pytest.param(window_dict(start="25:00"), "25:00", id="bad-hour"),
        pytest.param(window_dict(start="9am"), "9am", id="bad-time-text"),
        pytest.param(window_dict(start="24:00"), "24:00", id="24-as-start"),
        pytest.param(window_dict(end=1800), "1800", id="time-not-a-string"),
        pytest.param({"windows": [{"days": ["mon"]}]}, "windows[0]", id="window-missing-keys"),
        pytest.param({"windows": "mon 9-18"}, "windows", id="windows-not-a-list"),
        pytest.param({"format": "fax"}, "fax", id="unknown-format"),
        pytest.param({"max_per_week": -1}, "-1", id="cap-negative"),
        pytest.param({"max_per_week": 51}, "51", id="cap-above-50"),
        pytest.param({"max_per_week": True}, "max_per_week", id="cap-bool"),
        pytest.param({"max_per_week": "2"}, "max_per_week", id="cap-string"),
        pytest.param({"passive": "yes"}, "passive", id="passive-not-bool"),
        pytest.param({"quiet_hours": {"start": "22:00"}}, "quiet_hours", id="quiet-half"),
        pytest.param({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "22:00", id="quiet-eq"),
        pytest.param({"salutation": "A | B"}, "A | B", id="salutation-pipe"),
        pytest.param({"salutation": "passive"}, "passive", id="salutation-reads-as-field"),
        pytest.param({"salutation": 7}, "salutation", id="salutation-not-str"),
        pytest.param({"colour": "red"}, "colour", id="unknown-key"),
    ],
)
def test_from_dict_rejects_bad_input(data: dict[str, Any], named: str) -> None:
    with pytest.raises(PreferencesError) as caught:
        Preferences.from_dict(data)
    assert named in str(caught.value)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: Window(frozenset(), time(9), time(18)), id="window-no-days"),
        pytest.param(lambda: Window(frozenset({7}), time(9), time(18)), id="window-day-7"),
        pytest.param(lambda: Window(MON_FRI, time(9, 0, 30), time(18)), id="window-seconds"),
        pytest.param(
            lambda: Window(MON_FRI, time(9, tzinfo=ZoneInfo("UTC")), time(18)), id="window-tz"
        ),
        pytest.param(lambda: Preferences(salutation=" Mr. Wang"), id="salutation-untrimmed"),
        pytest.param(lambda: Preferences(salutation="Mr.\nWang"), id="salutation-two-lines"),
        pytest.param(lambda: Preferences(salutation="night owl"), id="salutation-preset"),
        pytest.param(lambda: Preferences(salutation="reachable x"), id="salutation-malformed"),
        pytest.param(lambda: Preferences(format="sms"), id="format"),
        pytest.param(lambda: Preferences(max_per_week=51), id="cap"),
        pytest.param(lambda: Preferences(quiet_start=time(8)), id="quiet-empty"),
    ],
)
def test_invalid_values_cannot_be_built(build: Any) -> None:
    with pytest.raises(PreferencesError):
        build()


# --- properties -----------------------------------------------------------------------------------

clock_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
windows = st.builds(Window, st.frozensets(st.integers(0, 6), min_size=1), clock_times, clock_times)


def _usable_salutation(text: str) -> bool:
    try:
        Preferences(salutation=text)
    except PreferencesError:
        return False
    return True


salutations = (
    st.text(alphabet="AaBbEeLlMmNnOoPpRrSsTtWwxyzÄäÖöÜüß .-'", min_size=1, max_size=24)
    .map(str.strip)
    .filter(_usable_salutation)
)


@st.composite
def preferences(draw: st.DrawFn) -> Preferences:
    quiet_start = draw(clock_times)
    quiet_end = draw(clock_times.filter(lambda t: t != quiet_start))
    quiet_start, quiet_end = draw(st.sampled_from([(quiet_start, quiet_end), (time(22), time(8))]))
    return Preferences(
        salutation=draw(st.none() | salutations),
        windows=tuple(draw(st.lists(windows, max_size=4))),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        format=draw(st.none() | st.sampled_from(FORMATS)),
        max_per_week=draw(st.none() | st.integers(0, 50)),
        passive=draw(st.booleans()),
    )


@settings(max_examples=300)
@given(preferences())
def test_note_round_trips(prefs: Preferences) -> None:
    note = render_note(prefs)
    assert parse_note(note) == prefs
    assert render_note(parse_note(note)) == note


@given(preferences())
def test_dict_round_trips_through_json(prefs: Preferences) -> None:
    assert Preferences.from_dict(json.loads(json.dumps(prefs.to_dict()))) == prefs


@given(windows, st.integers(0, 7 * 24 * 60 - 1))
def test_contains_matches_minutes_of_the_week(window: Window, minute_of_week: int) -> None:
    # Independent oracle: each window day opens an interval of the window's length in a
    # 10080-minute circular week; a wrap past Sunday lands on Monday.
    week = 7 * 24 * 60
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute
    length = (end - start) % (24 * 60) or 24 * 60
    expected = any(
        (minute_of_week - (day * 24 * 60 + start)) % week < length for day in window.days
    )
    moment = datetime.combine(date(2024, 1, 1), time(0)) + timedelta(minutes=minute_of_week)
    assert window.contains(moment) is expected


def test_module_uses_the_standard_library_only() -> None:
    tree = ast.parse(Path(preferences_note.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "collections.abc", "dataclasses", "datetime", "re", "typing"}

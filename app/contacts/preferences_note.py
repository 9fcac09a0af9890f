"""Pure: a contact's communication preferences and the one-line note they are written as.

The business keeps preferences as a short note, one field per ``|``-separated segment::

    Mr. Wang | prefers text | reachable Mon-Fri 9-18 | max 2 pushes per week
    Herr Wang | Bevorzugt Textkommunikation | Erreichbar Mo-Fr 9-18 Uhr | Maximal 2 Push-Nachrichten pro Woche

Grammar
=======
Matching ignores case, repeated whitespace, trailing ``.``/``!`` and the kind of dash (``-``,
``–``, ``—`` are the same). English and German are accepted; ``render_note`` writes English.

    note      = segment { "|" segment }             blank segments are ignored
    segment   = name | format | windows | quiet | cap | passive

``name``
    Any first segment that is none of the forms below: the salutation, kept as written
    ("Mr. Wang", "Herr Wang"). An unrecognised segment anywhere else is an error.
``format``
    ``prefers|bevorzugt|format <fmt>``, ``<fmt> bevorzugt|preferred``, ``<fmt>-bevorzugend`` or a
    bare ``image+text``. ``<fmt>``: text (text, text messages, Textnachrichten,
    Textkommunikation), voice (voice, voice messages/notes, Sprachnachrichten, Sprache, audio),
    image_text (images, pictures, photos, image+text, images and text, Bilder, Bilder und Text),
    video (video, video calls, Video, Videoanrufe).
``windows``
    ``reachable|erreichbar|available <list>``, ``<list> erreichbar``, or a preset on its own.
    ::

        list   = item { ("," | ";" | "/" | "&" | "and" | "und") item }
        item   = preset | [days] [range]
        days   = [on|at|am|an|every|jeden] (day | day "-" day | group)      day "bis"/"to" day too
        day    = Mon … Sun, Monday …, Mo Di Mi Do Fr Sa So, Montag … (also "montags", "Fr.")
        group  = weekdays | werktags | wochentags     -> Mon-Fri
               | weekends | (am) Wochenende           -> Sat, Sun
               | daily | every day | täglich | jeden Tag -> every day
        range  = [from|von|ab] time ("-" | "to" | "bis") time
        time   = H | H:MM | H.MM, optionally followed by "Uhr" or "h"; "24" only as an end
        preset = night owl | Nachteule | nachts aktiv -> daily 20-23
               | 9-to-5                               -> Mon-Fri 9-17

    Days accumulate until a time range closes the window, so ``Mon, Wed, Fri 18:30-21`` is one
    window on three days while ``Mon-Fri 9-12, Sat 10-14`` is two windows. A range with no days of
    its own repeats the days of the window before it (``Mon-Fri 9-12, 14-18``), or means every day
    when it comes first. Day ranges may wrap (``Fri-Mon``). The seeds define a bare "wochentags
    erreichbar" as Mon-Fri 9:00-18:00, so a lone weekday group with no range gets those hours;
    any other days without a range are an error. Several ``windows`` segments add up.
``quiet``
    ``quiet|quiet hours|nicht stören|Ruhezeit|do not disturb <range>``; ``do not disturb at
    night``, ``nachts nicht stören``, ``nicht nachts stören`` (the default 22-8);
    ``no messages after T`` / ``keine Nachrichten nach T`` (start only) and ``no messages before
    T`` / ``nicht vor T`` (end only); the other end keeps its value.
``cap``
    ``[max|maximal|at most|up to|höchstens|bis zu] N [x|times|mal] [pushes|messages|Nachrichten|
    Push-Nachrichten] per|a|pro|/ week|Woche``; N is 0-50, or once/twice/einmal/zweimal/dreimal.
``passive``
    ``passive``, ``passiv``, ``passiv auszulösend``, ``I'll get in touch when I need it``,
    ``contacts us when needed``, ``meldet sich selbst``, ``ich melde mich bei Bedarf``.

Each of format, quiet start, quiet end, cap and passive may appear once per note. Fields the note
does not mention keep the values of ``base``.

Times
=====
A window whose end is not after its start crosses midnight (22-2); equal start and end is a full
24 hours. Times carry minutes only, since neither the note nor ``to_dict`` can say more.
``render_note`` writes the canonical form: segments in the order name, format, windows, quiet,
cap, passive; ``9`` on the hour and ``18:30`` otherwise, midnight as an end ``24``; all seven days
as ``daily``, runs of three or more days as ``Mon-Fri``, other days listed (``Mon, Wed, Fri``);
default quiet hours and ``passive=False`` left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import Any

__all__ = [
    "DEFAULT_QUIET_END",
    "DEFAULT_QUIET_START",
    "FORMATS",
    "MAX_CAP",
    "WEEKDAYS",
    "Preferences",
    "PreferencesError",
    "Window",
    "parse_note",
    "render_note",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORMATS = ("text", "voice", "image_text", "video")
MAX_CAP = 50
DEFAULT_QUIET_START = time(22, 0)
DEFAULT_QUIET_END = time(8, 0)

_DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ALL_DAYS = frozenset(range(7))
_WORKDAYS = frozenset(range(5))
_WEEKEND = frozenset({5, 6})


class PreferencesError(ValueError):
    """A note, dict or value that does not describe valid preferences."""


def _check_clock(value: object, what: str) -> None:
    if not isinstance(value, time):
        raise PreferencesError(f"{what} must be a time, not {value!r}")
    if value.tzinfo is not None:
        raise PreferencesError(f"{what} must be a local wall-clock time without tzinfo")
    if value.second or value.microsecond:
        raise PreferencesError(f"{what} must be whole minutes, not {value.isoformat()}")


@dataclass(frozen=True)
class Window:
    """One reachable slot, in the contact's local time."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not isinstance(self.days, frozenset) or not self.days:
            raise PreferencesError("a window needs a non-empty frozenset of days")
        for day in self.days:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise PreferencesError(f"window day {day!r} is not 0 (Mon) to 6 (Sun)")
        _check_clock(self.start, "window start")
        _check_clock(self.end, "window end")

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def contains(self, local: datetime) -> bool:
        """Whether the local wall-clock moment falls in the window (start inclusive, end exclusive).

        An aware datetime is read as its own wall clock; converting to the contact's zone is the
        caller's job. The part after midnight belongs to the previous day's window, so a Friday
        22-2 window covers Saturday 01:00 but not Friday 01:00.
        """
        clock = local.time()
        day = local.weekday()
        if not self.crosses_midnight:
            return day in self.days and self.start <= clock < self.end
        if day in self.days and clock >= self.start:
            return True
        return (day - 1) % 7 in self.days and clock < self.end


@dataclass(frozen=True)
class Preferences:
    """How and when a contact wants to hear from us."""

    salutation: str | None = None
    windows: tuple[Window, ...] = ()
    quiet_start: time = DEFAULT_QUIET_START
    quiet_end: time = DEFAULT_QUIET_END
    format: str | None = None
    max_per_week: int | None = None
    passive: bool = False

    def __post_init__(self) -> None:
        if self.salutation is not None:
            _check_salutation(self.salutation)
        if not isinstance(self.windows, tuple) or not all(
            isinstance(w, Window) for w in self.windows
        ):
            raise PreferencesError("windows must be a tuple of Window")
        _check_clock(self.quiet_start, "quiet hours start")
        _check_clock(self.quiet_end, "quiet hours end")
        if self.quiet_start == self.quiet_end:
            # Equal ends would mean either no quiet hours or a contact we may never message;
            # neither is something a note should imply by accident.
            raise PreferencesError(
                f"quiet hours must not start and end at the same time ({_hhmm(self.quiet_start)})"
            )
        if self.format is not None and self.format not in FORMATS:
            raise PreferencesError(
                f"unknown format {self.format!r} (expected one of {', '.join(FORMATS)})"
            )
        if self.max_per_week is not None:
            _check_cap(self.max_per_week)
        if not isinstance(self.passive, bool):
            raise PreferencesError(f"passive must be true or false, not {self.passive!r}")

    def in_quiet_hours(self, local: datetime) -> bool:
        clock = local.time()
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= clock < self.quiet_end
        return clock >= self.quiet_start or clock < self.quiet_end

    def reachable_at(self, local: datetime) -> bool:
        """Outside quiet hours and inside a window (any time, when there are no windows).

        The frequency cap and the passive flag depend on the send history, so they are left to
        the scheduler.
        """
        if self.in_quiet_hours(local):
            return False
        return not self.windows or any(w.contains(local) for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "salutation": self.salutation,
            "windows": [
                {
                    "days": [WEEKDAYS[d] for d in sorted(w.days)],
                    "start": _hhmm(w.start),
                    "end": _hhmm(w.end),
                }
                for w in self.windows
            ],
            "quiet_hours": {"start": _hhmm(self.quiet_start), "end": _hhmm(self.quiet_end)},
            "format": self.format,
            "max_per_week": self.max_per_week,
            "passive": self.passive,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preferences:
        """The inverse of ``to_dict``; missing keys take the defaults, unknown keys are errors."""
        if not isinstance(data, Mapping):
            raise PreferencesError(f"preferences must be an object, not {type(data).__name__}")
        unknown = sorted(str(k) for k in data if k not in _DICT_KEYS)
        if unknown:
            raise PreferencesError(f"unknown preference key(s): {', '.join(unknown)}")

        salutation = data.get("salutation")
        if salutation is not None and not isinstance(salutation, str):
            raise PreferencesError(f"salutation must be a string, not {salutation!r}")

        raw_windows = data.get("windows")
        if raw_windows is None:
            raw_windows = []
        if isinstance(raw_windows, str | bytes) or not isinstance(raw_windows, Sequence):
            raise PreferencesError(f"windows must be a list, not {raw_windows!r}")
        windows = tuple(_window_from_dict(w, f"windows[{i}]") for i, w in enumerate(raw_windows))

        quiet_start, quiet_end = DEFAULT_QUIET_START, DEFAULT_QUIET_END
        quiet = data.get("quiet_hours")
        if quiet is not None:
            if not isinstance(quiet, Mapping) or set(quiet) != {"start", "end"}:
                raise PreferencesError(
                    f'quiet_hours must be {{"start": "HH:MM", "end": "HH:MM"}}, not {quiet!r}'
                )
            quiet_start = _time_from_str(quiet["start"], "quiet_hours.start", end=False)
            quiet_end = _time_from_str(quiet["end"], "quiet_hours.end", end=True)

        fmt = data.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise PreferencesError(f"format must be a string, not {fmt!r}")

        cap = data.get("max_per_week")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int)):
            raise PreferencesError(f"max_per_week must be an integer, not {cap!r}")

        passive = data.get("passive", False)
        if not isinstance(passive, bool):
            raise PreferencesError(f"passive must be true or false, not {passive!r}")

        return cls(
            salutation=salutation,
            windows=windows,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
            format=fmt,
            max_per_week=cap,
            passive=passive,
        )


_DICT_KEYS = frozenset(
    {"salutation", "windows", "quiet_hours", "format", "max_per_week", "passive"}
)


def _check_cap(cap: object) -> None:
    if isinstance(cap, bool) or not isinstance(cap, int):
        raise PreferencesError(f"max_per_week must be an integer, not {cap!r}")
    if not 0 <= cap <= MAX_CAP:
        raise PreferencesError(f"max_per_week must be between 0 and {MAX_CAP}, not {cap}")


def _check_salutation(salutation: object) -> None:
    if not isinstance(salutation, str):
        raise PreferencesError(f"salutation must be a string, not {salutation!r}")
    if not salutation.strip() or salutation != salutation.strip():
        raise PreferencesError(f"salutation {salutation!r} must be non-blank and trimmed")
    if "|" in salutation or not salutation.isprintable():
        raise PreferencesError(
            f"salutation {salutation!r} must be one line without '|' (it is a note segment)"
        )
    # A salutation that reads as a preference would come back from the note as that preference.
    try:
        looks_like_field = _classify(salutation) is not None
    except PreferencesError:
        looks_like_field = True
    if looks_like_field:
        raise PreferencesError(f"salutation {salutation!r} reads as a preference, not a name")


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


def _time_from_str(value: object, where: str, *, end: bool) -> time:
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise PreferencesError(f"{where}: expected a time as HH:MM, not {value!r}")
    return _clock_of(match.group(1), match.group(2), end=end, where=where)


def _clock_of(hour: str, minute: str | None, *, end: bool, where: str = "time") -> time:
    h, m = int(hour), int(minute or 0)
    text = f"{hour}:{minute}" if minute is not None else hour
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        raise PreferencesError(f"{where}: {text!r} is not a time of day")
    # "24" lets an evening window end at midnight (20-24) without reading as a wrap to 00:00.
    return time(0, m) if h == 24 else time(h, m)


def _window_from_dict(raw: object, where: str) -> Window:
    if not isinstance(raw, Mapping) or set(raw) != {"days", "start", "end"}:
        raise PreferencesError(
            f'{where} must be {{"days": [...], "start": "HH:MM", "end": "HH:MM"}}, not {raw!r}'
        )
    days = raw["days"]
    if isinstance(days, str | bytes) or not isinstance(days, Sequence) or not days:
        raise PreferencesError(f"{where}.days must be a non-empty list of day names")
    numbers: set[int] = set()
    for day in days:
        name = day.lower() if isinstance(day, str) else None
        if name not in WEEKDAYS:
            raise PreferencesError(
                f"{where}.days: unknown day {day!r} (expected one of {', '.join(WEEKDAYS)})"
            )
        numbers.add(WEEKDAYS.index(name))
    return Window(
        days=frozenset(numbers),
        start=_time_from_str(raw["start"], f"{where}.start", end=False),
        end=_time_from_str(raw["end"], f"{where}.end", end=True),
    )


# --- reading notes -------------------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {"–": "-", "—": "-", "‒": "-", "−": "-", "‐": "-", "‑": "-", "’": "'", "‘": "'"}
)


def _norm(text: str) -> str:
    return " ".join(text.lower().translate(_TRANSLATE).split()).rstrip(" .!…")


_DAY_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "monday", "mo", "montag"),
        ("tue", "tues", "tuesday", "di", "dienstag"),
        ("wed", "weds", "wednesday", "mi", "mittwoch"),
        ("thu", "thur", "thurs", "thursday", "do", "donnerstag"),
        ("fri", "friday", "fr", "freitag"),
        ("sat", "saturday", "sa", "samstag", "sonnabend"),
        ("sun", "sunday", "so", "sonntag"),
    )
):
    for _name in _names:
        _DAY_NAMES[_name] = _index
        if len(_name) >= 6:  # notes say "montags" / "mondays" for "every Monday"
            _DAY_NAMES[_name + "s"] = _index

_WORKDAY_WORDS = ("weekdays", "weekday", "workdays", "werktags", "werktag", "wochentags")
_DAY_GROUPS: dict[str, frozenset[int]] = {
    **dict.fromkeys(_WORKDAY_WORDS, _WORKDAYS),
    **dict.fromkeys(("weekends", "weekend", "wochenende", "wochenenden"), _WEEKEND),
    **dict.fromkeys(
        ("daily", "every day", "each day", "täglich", "taeglich", "jeden tag", "all week"),
        _ALL_DAYS,
    ),
}


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_DAY = rf"(?:{_alternation([*_DAY_NAMES, *_DAY_GROUPS])})\.?(?![a-zäöüß])"
_DAYS = (
    rf"(?:(?:on|at|am|an|every|each|jeden)\s+)?(?P<d1>{_DAY})"
    rf"(?:\s*(?:-|to|bis)\s*(?P<d2>{_DAY}))?"
)


def _time_re(prefix: str) -> str:
    return rf"(?P<{prefix}h>\d{{1,2}})(?:[:.](?P<{prefix}m>\d{{2}}))?(?:\s*(?:uhr|h)(?![a-z]))?"


_RANGE = (
    rf"(?:(?:from|von|ab|between|zwischen)\s+)?{_time_re('s')}"
    rf"\s*(?:-|to|bis|until)\s*{_time_re('e')}"
)
_ITEM = re.compile(rf"(?:{_DAYS})?\s*(?:{_RANGE})?")
_LIST_SEPARATOR = re.compile(r"\s*(?:[,;/&]|\band\b|\bund\b)\s*")

_NIGHT_OWL = (Window(_ALL_DAYS, time(20), time(23)),)
_PRESETS: dict[str, tuple[Window, ...]] = {
    **dict.fromkeys(
        ("night owl", "night-owl", "nachteule", "nachts aktiv", "active at night"), _NIGHT_OWL
    ),
    **dict.fromkeys(("9-to-5", "nine-to-five"), (Window(_WORKDAYS, time(9), time(17)),)),
}
# The seeds: contacts marked "wochentags erreichbar" get messages Mon-Fri 9:00-18:00 only.
_OFFICE_HOURS = (time(9), time(18))

_FORMAT_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), fmt)
    for pattern, fmt in (
        (
            r"image ?\+ ?text|image_text|(?:images?|pictures?|photos?) (?:and|with|\+) texts?"
            r"|images?|pictures?|photos?|bild(?:er)? ?(?:\+|und|mit) ?text|bilder|bild|fotos?",
            "image_text",
        ),
        (
            r"(?:plain |reine )?(?:texts?|text messages?|text communication|textnachrichten?"
            r"|textkommunikation)|written|schriftlich",
            "text",
        ),
        (
            r"voice(?: messages?| notes?| memos?)?|sprachnachrichten?|sprachmemos?|sprache|audio",
            "voice",
        ),
        (r"videos?(?: messages?| calls?)?|videoanrufe?|video-anrufe?|videonachrichten?", "video"),
    )
)
_FORMAT_LABELS = {"text": "text", "voice": "voice", "image_text": "image+text", "video": "video"}
_FORMAT_PREFIX = re.compile(
    r"(?:prefers?|preferred format|preference|bevorzugt|bevorzuge|bevorzugen|format)\b\s*:?\s*(?P<w>.*)"
)
_FORMAT_SUFFIX = re.compile(r"(?P<w>.+?)\s*-?\s*(?:bevorzugend|bevorzugt|preferred)")
_FORMAT_BARE = re.compile(r"image ?\+ ?text|image_text|bild ?\+ ?text")

_OE = "(?:ö|oe)"
_QUIET_TRIGGER = re.compile(
    rf"quiet|ruhezeit|(?:bitte )?nicht st{_OE}r|nicht nach|nicht vor|do not disturb|don't disturb"
    r"|dnd\b|no messages|no pushes|keine nachrichten|keine pushes|nachts (?:nicht|keine)"
    r"|not (?:at night|after|before)|nothing (?:after|before)|nichts (?:nach|vor)"
)
_QUIET_RANGE = re.compile(
    rf"(?:quiet(?: hours)?|ruhezeit(?:en)?|(?:bitte )?nicht st{_OE}ren|do not disturb|dnd"
    rf"|no messages|keine nachrichten)\s*:?\s*{_RANGE}"
)
_QUIET_NIGHT = re.compile(
    rf"(?:do not disturb|don't disturb|no messages|keine nachrichten|(?:bitte )?nicht st{_OE}ren)"
    rf" (?:at night|nachts|in der nacht)"
    rf"|(?:bitte )?nachts (?:nicht st{_OE}ren|keine nachrichten)"
    rf"|(?:bitte )?nicht nachts st{_OE}ren|not at night|nicht nachts"
)
_QUIET_SUBJECT = (
    r"(?:no messages|no pushes|nothing|not|keine nachrichten|keine pushes|nichts|nicht)"
)
_QUIET_AFTER = re.compile(
    rf"{_QUIET_SUBJECT} (?:after|later than|nach|ab|später als) {_time_re('t')}"
)
_QUIET_BEFORE = re.compile(
    rf"{_QUIET_SUBJECT} (?:before|earlier than|vor|früher als) {_time_re('t')}"
)

_CAP_WORDS = {"once": 1, "twice": 2, "einmal": 1, "zweimal": 2, "dreimal": 3}
_CAP_NUMBER = rf"(?:-?\d+|{_alternation(list(_CAP_WORDS))})"
_CAP_LIMIT = (
    rf"(?:max(?:imal|imum)?\.?|at most|up to|h{_OE}chstens|bis zu|no more than|nicht mehr als)"
)
_CAP_WEEK = r"(?:week|woche|wk|7 days|7 tage)"
_CAP_TRIGGER = re.compile(rf"{_CAP_LIMIT}\s*{_CAP_NUMBER}|{_CAP_NUMBER}.*\b{_CAP_WEEK}\b")
_CAP = re.compile(
    rf"(?:{_CAP_LIMIT}\s*)?(?P<n>{_CAP_NUMBER})(?:\s*-?\s*(?:x|×|times|mal))?"
    r"(?:\s+(?:marketing |werbe-?)?(?:push-nachrichten|push-nachricht|push messages?|pushes|pushs"
    r"|push|messages?|msgs?|nachrichten|nachricht|broadcasts?))?"
    rf"\s*(?:per|a|an|each|every|pro|je|in der|/)\s*{_CAP_WEEK}"
)

_PASSIVE = re.compile(
    rf"passive|passiv|passive trigger|passiv auszul{_OE}send"
    r"|i'?ll get in touch when i need it|i will get in touch when i need it"
    r"|(?:gets|will get) in touch when needed|(?:contacts|will contact) us when (?:needed|necessary)"
    r"|meldet sich selbst|meldet sich bei bedarf"
    r"|(?:ich brauche es vorerst nicht,? )?ich melde mich(?: selbst| bei bedarf)?"
)

_WINDOWS_PREFIX = re.compile(r"(?:reachable|available|erreichbar)(?:\s*:\s*|\s+|$)(?P<body>.*)")
_WINDOWS_SUFFIX = re.compile(r"(?P<body>.+?)\s+(?:reachable|erreichbar)")


@dataclass
class _Fields:
    """What one segment says; None means the segment does not mention that field."""

    format: str | None = None
    windows: tuple[Window, ...] | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None
    max_per_week: int | None = None
    passive: bool | None = None


_ONCE_PER_NOTE = {
    "format": "the format",
    "quiet_start": "the start of the quiet hours",
    "quiet_end": "the end of the quiet hours",
    "max_per_week": "the weekly cap",
    "passive": "passive",
}


def _format_of(word: str) -> str | None:
    for pattern, fmt in _FORMAT_WORDS:
        if pattern.fullmatch(word):
            return fmt
    return None


def _read_passive(text: str) -> _Fields | None:
    return _Fields(passive=True) if _PASSIVE.fullmatch(text) else None


def _read_preset(text: str) -> _Fields | None:
    preset = _PRESETS.get(text)
    return _Fields(windows=preset) if preset is not None else None


def _read_format(text: str) -> _Fields | None:
    if _FORMAT_BARE.fullmatch(text):
        return _Fields(format="image_text")
    prefixed = _FORMAT_PREFIX.fullmatch(text)
    if prefixed:
        fmt = _format_of(prefixed.group("w"))
        if fmt is None:
            raise PreferencesError(
                f"unknown format {prefixed.group('w')!r} (text, voice, image+text or video)"
            )
        return _Fields(format=fmt)
    # The suffix form ("Sprachnachrichten-bevorzugend") only counts when the word is a format,
    # so a name that happens to end in "preferred" is not swallowed.
    suffixed = _FORMAT_SUFFIX.fullmatch(text)
    if suffixed:
        fmt = _format_of(suffixed.group("w"))
        if fmt is not None:
            return _Fields(format=fmt)
    return None


def _read_quiet(text: str) -> _Fields | None:
    if not _QUIET_TRIGGER.match(text):
        return None
    if _QUIET_NIGHT.fullmatch(text):
        return _Fields(quiet_start=DEFAULT_QUIET_START, quiet_end=DEFAULT_QUIET_END)
    ranged = _QUIET_RANGE.fullmatch(text)
    if ranged:
        start, end = _range_of(ranged)
        return _Fields(quiet_start=start, quiet_end=end)
    after = _QUIET_AFTER.fullmatch(text)
    if after:
        return _Fields(quiet_start=_clock_of(after.group("th"), after.group("tm"), end=False))
    before = _QUIET_BEFORE.fullmatch(text)
    if before:
        return _Fields(quiet_end=_clock_of(before.group("th"), before.group("tm"), end=True))
    raise PreferencesError(
        "cannot read quiet hours (try 'quiet 22-8', 'do not disturb at night' "
        "or 'no messages after 21')"
    )


def _read_cap(text: str) -> _Fields | None:
    if not _CAP_TRIGGER.match(text):
        return None
    match = _CAP.fullmatch(text)
    if match is None:
        raise PreferencesError("cannot read a weekly cap (try 'max 2 pushes per week')")
    number = match.group("n")
    cap = _CAP_WORDS[number] if number in _CAP_WORDS else int(number)
    _check_cap(cap)
    return _Fields(max_per_week=cap)


def _read_windows(text: str) -> _Fields | None:
    match = _WINDOWS_PREFIX.fullmatch(text) or _WINDOWS_SUFFIX.fullmatch(text)
    if match is None:
        return None
    body = match.group("body").strip()
    if not body:
        raise PreferencesError("no days or times given (try 'reachable Mon-Fri 9-18')")
    return _Fields(windows=_windows_of(body))


_READERS: tuple[Callable[[str], _Fields | None], ...] = (
    _read_passive,
    _read_preset,
    _read_format,
    _read_quiet,
    _read_cap,
    _read_windows,
)


def _classify(segment: str) -> _Fields | None:
    """What the segment sets; None when it is no known form; raises when it is a malformed one."""
    text = _norm(segment)
    if not text:
        return None
    for reader in _READERS:
        fields = reader(text)
        if fields is not None:
            return fields
    return None


def _days_of(first: str, last: str | None) -> frozenset[int]:
    def lookup(word: str) -> frozenset[int]:
        word = word.rstrip(".")
        if word in _DAY_GROUPS:
            return _DAY_GROUPS[word]
        return frozenset({_DAY_NAMES[word]})

    days = lookup(first)
    if last is None:
        return days
    end = lookup(last)
    if len(days) != 1 or len(end) != 1:
        raise PreferencesError(f"a day range needs two single days, not {first!r}-{last!r}")
    (a,), (b,) = days, end
    return frozenset((a + i) % 7 for i in range((b - a) % 7 + 1))


def _range_of(match: re.Match[str]) -> tuple[time, time]:
    start = _clock_of(match.group("sh"), match.group("sm"), end=False)
    end = _clock_of(match.group("eh"), match.group("em"), end=True)
    return start, end


def _windows_of(body: str) -> tuple[Window, ...]:
    windows: list[Window] = []
    pending: set[int] = set()
    pending_items: list[str] = []
    previous_days: frozenset[int] | None = None
    for item in _LIST_SEPARATOR.split(body):
        if not item:
            raise PreferencesError(f"empty entry in the window list {body!r}")
        if item in _PRESETS:
            windows.extend(_PRESETS[item])
            continue
        match = _ITEM.fullmatch(item)
        if match is None:
            raise PreferencesError(f"cannot read {item!r} as days and a time range")
        days = _days_of(match.group("d1"), match.group("d2")) if match.group("d1") else None
        if match.group("sh") is None:
            if days is not None:
                pending |= days
                pending_items.append(item)
            continue
        start, end = _range_of(match)
        if days is None and not pending:
            days = previous_days if previous_days is not None else _ALL_DAYS
        window_days = frozenset(pending | (days or set()))
        windows.append(Window(window_days, start, end))
        previous_days = window_days
        pending.clear()
        pending_items.clear()
    if pending:
        if len(pending_items) == 1 and pending_items[0] in _WORKDAY_WORDS:
            windows.append(Window(_WORKDAYS, *_OFFICE_HOURS))
        else:
            raise PreferencesError(f"no time range for {', '.join(pending_items)!r}")
    return tuple(windows)


def parse_note(note: str, base: Preferences | None = None) -> Preferences:
    """Read a one-line preference note; fields the note does not mention keep ``base``'s values."""
    if not isinstance(note, str):
        raise PreferencesError(f"a note must be a string, not {type(note).__name__}")
    prefs = base if base is not None else Preferences()
    segments = [s.strip() for s in note.split("|")]
    found = _Fields()
    windows: list[Window] = []
    has_windows = False
    changes: dict[str, Any] = {}
    for position, segment in enumerate(s for s in segments if s):
        try:
            fields = _classify(segment)
        except PreferencesError as exc:
            raise PreferencesError(f"segment {segment!r}: {exc}") from None
        if fields is None:
            if position == 0:
                changes["salutation"] = segment
                continue
            raise PreferencesError(f"segment {segment!r}: not a known preference")
        if fields.windows is not None:
            windows.extend(fields.windows)
            has_windows = True
        for name, label in _ONCE_PER_NOTE.items():
            value = getattr(fields, name)
            if value is None:
                continue
            if getattr(found, name) is not None:
                raise PreferencesError(f"segment {segment!r}: {label} is already given")
            setattr(found, name, value)
    if has_windows:
        changes["windows"] = tuple(windows)
    for name in _ONCE_PER_NOTE:
        value = getattr(found, name)
        if value is not None:
            changes[name] = value
    try:
        return replace(prefs, **changes)
    except PreferencesError as exc:
        raise PreferencesError(f"note {note!r}: {exc}") from None


# --- writing notes -------------------------------------------------------------------------------


def _clock_text(value: time, *, end: bool = False) -> str:
    if end and value == time(0):
        return "24"
    return str(value.hour) if value.minute == 0 else f"{value.hour}:{value.minute:02d}"


def _days_text(days: frozenset[int]) -> str:
    if days == _ALL_DAYS:
        return "daily"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_LABELS[run[0]]}-{_DAY_LABELS[run[-1]]}")
        else:
            parts.extend(_DAY_LABELS[d] for d in run)
    return ", ".join(parts)


def _window_text(window: Window) -> str:
    start = _clock_text(window.start)
    end = _clock_text(window.end, end=True)
    return f"{_days_text(window.days)} {start}-{end}"


def render_note(prefs: Preferences) -> str:
    """The canonical English note; ``parse_note`` reads it back to equal preferences."""
    parts: list[str] = []
    if prefs.salutation is not None:
        parts.append(prefs.salutation)
    if prefs.format is not None:
        parts.append(f"prefers {_FORMAT_LABELS[prefs.format]}")
    if prefs.windows:
        parts.append("reachable " + ", ".join(_window_text(w) for w in prefs.windows))
    if (prefs.quiet_start, prefs.quiet_end) != (DEFAULT_QUIET_START, DEFAULT_QUIET_END):
        start = _clock_text(prefs.quiet_start)
        end = _clock_text(prefs.quiet_end, end=True)
        parts.append(f"quiet {start}-{end}")
    if prefs.max_per_week is not None:
        noun = "push" if prefs.max_per_week == 1 else "pushes"
        parts.append(f"max {prefs.max_per_week} {noun} per week")
    if prefs.passive:
        parts.append("passive")
    return " | ".join(parts)

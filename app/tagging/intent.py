"""Multilingual intent detection: message text → Signals (intent, interests, categories, opt-out).

Pure: the vocabulary (the YAML files next to this module) is read once when a Detector is built;
detect() does no I/O and depends only on its arguments.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

import ahocorasick
import yaml

from app.tagging.normalise import (
    arabic_prefix_ok,
    arabic_suffix_ok,
    is_arabic,
    is_cjk,
    is_word,
    normalise,
    normalise_with_script,
    shortened,
)

LANGUAGES: Final = ("en", "de", "es", "pt", "fr", "id", "hi", "ar", "zh", "vi")
INTENT_LEVELS: Final = ("high", "medium", "potential", "none")
INTERESTS: Final = (
    "discount_sensitive",
    "novelty_seeking",
    "function_oriented",
    "content_learner",
    "brand_loyal",
)
VOCABULARY_DIR: Final = Path(__file__).with_name("vocabulary")
NEGATION_WINDOW_WORDS: Final = 3
NEGATION_WINDOW_CJK_CHARS: Final = 4
# A negation window of three words holds only a few phrases; this bounds the search on long texts.
_NEGATION_HIT_REACH: Final = 8

# An interest is itself a question: asking for a discount is a price question, the others ask
# about the product. Brand loyalty is a statement, so it implies no level.
_IMPLIED_RANK: Final = {
    "discount_sensitive": 3,
    "novelty_seeking": 2,
    "function_oriented": 2,
    "content_learner": 2,
    "brand_loyal": 0,
}
_RANK: Final = {"potential": 1, "medium": 2, "high": 3}
_CLAUSE_BREAKS: Final = frozenset(",.;:!?")

# Entry kinds. Only wants and requests can be negated: "is it not in stock?" is still a stock
# question, but "no discount needed" is not a discount request.
_LEVEL, _REFUSAL, _INTEREST, _COMPARISON = "level", "refusal", "interest", "comparison"
_OPT_OUT, _OPT_OUT_KW, _OPT_IN, _OPT_IN_KW = "opt_out", "opt_out_kw", "opt_in", "opt_in_kw"
_CATEGORY, _FILLER, _NEG_BEFORE, _NEG_AFTER = "category", "filler", "neg_before", "neg_after"
_IGNORE, _MARKER = "ignore", "marker"
_NEGATABLE: Final = frozenset({_INTEREST, _COMPARISON, _OPT_OUT, _OPT_OUT_KW, _OPT_IN, _OPT_IN_KW})
_NEGATOR_KINDS: Final = frozenset({_NEG_BEFORE, _NEG_AFTER})
_SILENT: Final = frozenset({_MARKER, _IGNORE, _FILLER, _NEG_BEFORE, _NEG_AFTER})
_NOTHING: Final[frozenset[str]] = frozenset()
_SIGNAL_OF_KIND: Final = {
    _LEVEL: "intent",
    _REFUSAL: "intent",
    _OPT_OUT_KW: "opt_out",
    _OPT_IN_KW: "opt_in",
}


class VocabularyError(ValueError):
    """A vocabulary file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Match:
    signal: str  # intent | interest | category | parameter | comparison | opt_out | opt_in
    value: str  # e.g. "high", "discount_sensitive", "3c", "high_capacity", "true"
    phrase: str  # the vocabulary phrase as written (for parameters: the matched text)
    language: str  # the vocabulary's language, "und" for language-independent entries


@dataclass(frozen=True)
class Signals:
    intent: str | None
    interests: frozenset[str]
    categories: frozenset[str]
    parameters: frozenset[str]
    comparison: bool
    opt_out: bool
    opt_in: bool
    language: str | None
    evidence: tuple[Match, ...]


# --- vocabulary ----------------------------------------------------------------------------


class _Entry:
    """One vocabulary phrase with what it signals; immutable after load."""

    __slots__ = ("clitics", "kind", "language", "match", "open_left", "open_right", "value")

    def __init__(self, kind: str, value: str, phrase: str, language: str, key: str) -> None:
        self.kind = kind
        self.value = value
        self.language = language
        self.open_left = phrase.startswith("*")
        self.open_right = phrase.endswith("*")
        self.clitics = is_arabic(key[0]) and kind not in (_NEG_BEFORE, _NEG_AFTER, _FILLER)
        shown = "none" if kind == _REFUSAL else value
        self.match = Match(_SIGNAL_OF_KIND.get(kind, kind), shown, phrase.strip("*"), language)

    def pads(self, key: str) -> tuple[bool, bool]:
        """Whether each end of the phrase must be a word boundary."""
        return (
            not self.open_left and is_word(key[0]),
            not self.open_right and is_word(key[-1]),
        )


@dataclass(frozen=True)
class _Parameter:
    """A parameter tag set by a number followed by one of its units, within bounds."""

    tag: str
    category: str | None
    minimum: float
    maximum: float


_LANGUAGE_KEYS: Final = {
    "language",
    "intent",
    "interests",
    "comparison",
    "opt_out",
    "opt_in",
    "filler",
    "negators",
    "ignore",
    "markers",
}


def _phrases(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise VocabularyError(f"{where}: expected a list of phrases")
    for phrase in value:
        if not isinstance(phrase, str):
            # YAML reads a bare no, yes, on or off as a boolean.
            raise VocabularyError(f"{where}: {phrase!r} is not text; quote it")
        if not phrase.strip("* "):
            raise VocabularyError(f"{where}: empty phrase")
    return [p.strip() for p in value]


def _section(data: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str) -> Any:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not set(value) <= set(allowed):
        raise VocabularyError(f"{where}: '{key}' takes the keys {', '.join(allowed)}")
    return value


class _Builder:
    def __init__(self) -> None:
        self.entries: dict[str, list[_Entry]] = {}
        self.variants: dict[str, list[_Entry]] = {}
        self.parameters: dict[str, list[_Parameter]] = {}  # by normalised unit

    def add(self, phrases: list[str], kind: str, value: str, language: str, where: str) -> None:
        for phrase in phrases:
            key = normalise(phrase.strip("*"))
            if not key:
                raise VocabularyError(f"{where}: '{phrase}' is empty once normalised")
            entry = _Entry(kind, value, phrase, language, key)
            self.entries.setdefault(key, []).append(entry)
            variant = shortened(key)
            if variant is not None:
                self.variants.setdefault(variant, []).append(entry)

    def build(self) -> dict[str, list[_Entry]]:
        """All spellings; a shortened one only where no phrase is spelt that way ("aku")."""
        unclaimed = {k: v for k, v in self.variants.items() if k not in self.entries}
        return {**self.entries, **unclaimed}

    def add_language(self, data: Mapping[str, Any], name: str) -> None:
        unknown = set(data) - _LANGUAGE_KEYS
        if unknown:
            raise VocabularyError(f"{name}: unknown keys {sorted(unknown)}")
        lang = data.get("language")
        if not isinstance(lang, str) or not lang:
            raise VocabularyError(f"{name}: 'language' (a language code or 'und') is required")
        for level, phrases in _section(data, "intent", INTENT_LEVELS, name).items():
            kind = _REFUSAL if level == "none" else _LEVEL
            self.add(_phrases(phrases, f"{name} intent.{level}"), kind, level, lang, name)
        for interest, phrases in _section(data, "interests", INTERESTS, name).items():
            self.add(_phrases(phrases, f"{name} interests"), _INTEREST, interest, lang, name)
        for key, kinds in (("opt_out", (_OPT_OUT, _OPT_OUT_KW)), ("opt_in", (_OPT_IN, _OPT_IN_KW))):
            section = _section(data, key, ("phrases", "keywords"), name)
            for sub, kind in zip(("phrases", "keywords"), kinds, strict=True):
                where = f"{name} {key}.{sub}"
                self.add(_phrases(section.get(sub), where), kind, "true", lang, name)
        negators = _section(data, "negators", ("before", "after"), name)
        for sub, kind in (("before", _NEG_BEFORE), ("after", _NEG_AFTER)):
            self.add(_phrases(negators.get(sub), f"{name} negators.{sub}"), kind, "", lang, name)
        for key, kind in (
            ("comparison", _COMPARISON),
            ("filler", _FILLER),
            ("ignore", _IGNORE),
            ("markers", _MARKER),
        ):
            value = "true" if kind == _COMPARISON else ""
            self.add(_phrases(data.get(key), f"{name} {key}"), kind, value, lang, name)

    def add_catalogue(self, data: Mapping[str, Any], name: str) -> None:
        categories = data.get("categories") or {}
        if not isinstance(categories, dict):
            raise VocabularyError(f"{name}: 'categories' maps a category to phrases by language")
        for category, by_language in categories.items():
            if not isinstance(by_language, dict):
                raise VocabularyError(f"{name}: category '{category}' maps languages to phrases")
            for lang, phrases in by_language.items():
                where = f"{name} {category}.{lang}"
                self.add(_phrases(phrases, where), _CATEGORY, str(category), str(lang), name)
        for i, item in enumerate(data.get("parameters") or []):
            where = f"{name} parameter #{i + 1}"
            try:
                category = item.get("category")
                parameter = _Parameter(
                    tag=str(item["tag"]),
                    category=None if category is None else str(category),
                    minimum=float(item.get("min", float("-inf"))),
                    maximum=float(item.get("max", float("inf"))),
                )
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise VocabularyError(f"{where}: {exc!r}") from exc
            units = [normalise(u) for u in _phrases(item.get("units"), f"{where} units")]
            if not units or not all(units):
                raise VocabularyError(f"{where}: 'units' lists one or more units")
            for unit in units:
                self.parameters.setdefault(unit, []).append(parameter)


_GROUPED_NUMBER: Final = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
# "20k mAh", "2万毫安": a multiplier may sit between the number and the unit.
_MULTIPLIERS: Final = {"k": 1_000.0, "万": 10_000.0}


def _quantity_pattern(units: list[str]) -> re.Pattern[str]:
    """Number, optional multiplier, one of the units (longest first), not followed by a letter."""
    alternatives = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    multipliers = "|".join(re.escape(m) for m in _MULTIPLIERS)
    # Starting with \d (the lookbehind after it) lets the regex engine skip to digits quickly.
    return re.compile(
        rf"(\d(?<![\d.,]\d)\d*(?:[.,]\d+)*)\s?({multipliers})?\s?({alternatives})(?![a-z])"
    )


def _number(text: str) -> float:
    if _GROUPED_NUMBER.fullmatch(text):  # 20.000 / 20,000
        return float(text.replace(".", "").replace(",", ""))
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return 0.0


# --- detection -----------------------------------------------------------------------------

# A distinct signal of a phrase: (kind, value, match by language, first match). A word listed
# in five languages is weighed once and shown in the language of the message.
_Signal = tuple[str, str, dict[str, Match], Match]


class _Payload(NamedTuple):
    """What one key of the automaton stands for; built once, at load."""

    kinds: frozenset[str]
    entries: tuple[_Entry, ...]
    languages: tuple[str, ...]
    signals: tuple[_Signal, ...]
    vote_only: bool  # a stopword: it tells the language and nothing else


# One phrase found in the space-padded text: (order, start, stop, cjk, payload), where order
# sorts by start, then longest, then most padded. A plain tuple: detect() makes several per
# message on its hot path.
_Hit = tuple[int, int, int, bool, _Payload]
_BY_ORDER: Final = operator.itemgetter(0)
_START: Final = 1
_STOP: Final = 2
_CJK: Final = 3
_PAYLOAD: Final = 4
_DIGIT: Final = re.compile(r"\d")
_OPT_OUT_ONLY: Final = frozenset({_OPT_OUT_KW, _FILLER})
_OPT_IN_ONLY: Final = frozenset({_OPT_IN_KW, _FILLER})
_NEGATION_ONLY: Final = frozenset({_NEG_BEFORE, _NEG_AFTER, _FILLER})


def _payload(entries: tuple[_Entry, ...]) -> _Payload:
    signals: dict[tuple[str, str], dict[str, Match]] = {}
    for e in entries:
        if e.kind not in _SILENT:
            signals.setdefault((e.kind, e.value), {}).setdefault(e.language, e.match)
    kinds = frozenset(e.kind for e in entries)
    return _Payload(
        kinds,
        entries,
        tuple(sorted({e.language for e in entries})),
        tuple((k, v, m, next(iter(m.values()))) for (k, v), m in signals.items()),
        kinds == {_MARKER},
    )


def _in_scope(text: str, start: int, stop: int, cjk: bool) -> bool:
    """Whether a negator at one end of text[start:stop] reaches the phrase at the other."""
    gap = text[start:stop]
    if any(ch in _CLAUSE_BREAKS for ch in gap):
        return False
    if cjk:
        return len(gap.replace(" ", "")) <= NEGATION_WINDOW_CJK_CHARS
    return len(gap.split()) <= NEGATION_WINDOW_WORDS


def _negatable_by(hit: _Hit, languages: frozenset[str]) -> bool:
    kinds, entries = hit[_PAYLOAD].kinds, hit[_PAYLOAD].entries
    if kinds.isdisjoint(_NEGATABLE):
        return False
    return "und" in languages or any(
        e.language in languages for e in entries if e.kind in _NEGATABLE
    )


def _negations(text: str, hits: list[_Hit]) -> tuple[set[int], set[int]]:
    """Indexes of the cancelled phrases, and of the negators that cancelled them.

    A negator cancels the nearest negatable phrase of its own language within its window: in
    "don't stop sending the deals" it takes "stop sending" and leaves "deals", and the Spanish
    "no" of "no tienen descuento?" is not the English "no" of "no discount needed". Once a
    phrase is reached, every language's reading of it goes ("promo" is in several files).
    """
    negated: set[int] = set()
    used: set[int] = set()
    for j, (_, n_start, n_stop, n_cjk, n_payload) in enumerate(hits):
        for direction in _NEGATOR_KINDS & n_payload.kinds:
            languages = frozenset(e.language for e in n_payload.entries if e.kind == direction)
            if direction == _NEG_BEFORE:
                candidates = range(j + 1, min(len(hits), j + 1 + _NEGATION_HIT_REACH))
            else:
                candidates = range(j - 1, max(-1, j - 1 - _NEGATION_HIT_REACH), -1)
            for i in candidates:
                hit = hits[i]
                if direction == _NEG_BEFORE:
                    gap_start, gap_stop = n_stop, hit[_START]
                else:
                    gap_start, gap_stop = hit[_STOP], n_start
                if gap_start > gap_stop:
                    continue  # overlaps the negator
                if not _in_scope(text, gap_start, gap_stop, hit[_CJK] or n_cjk):
                    break
                if _negatable_by(hit, languages):
                    negated.add(i)
                    used.add(j)
                    break
    return negated, used


def _only(text: str, hits: list[_Hit], kinds: frozenset[str]) -> bool:
    """Whether the words of text are all covered by hits of the given kinds."""
    rest, pos = [], 0
    for hit in hits:
        if not hit[_PAYLOAD].kinds.isdisjoint(kinds):
            rest.append(text[pos : hit[_START]])
            pos = hit[_STOP]
    rest.append(text[pos:])
    # CJK characters count as words here: "停" alone stops, "充满了也不停" does not.
    return not any(ch.isalnum() or is_word(ch) for ch in "".join(rest))


def _automaton_keys(
    key: str, entries: list[_Entry]
) -> Iterator[tuple[str, int, int, list[_Entry]]]:
    """(automaton key, left pad, right pad, entries) for one normalised phrase.

    Normalised text separates tokens by one space, so a key that carries a space at each end
    that must be a word boundary matches whole words only. A padded key also holds the entries
    that need less padding ("promo*" is found in "promo" too), so that the most padded key
    found on a span speaks for all. Arabic keys stay bare, to allow clitics; _scan checks them.
    """
    if is_arabic(key[0]):
        yield key, 0, 0, entries
        return
    needs = [(e, *e.pads(key)) for e in entries]
    for left, right in sorted({(need_l, need_r) for _, need_l, need_r in needs}):
        fits = [e for e, need_l, need_r in needs if need_l <= left and need_r <= right]
        yield f"{' ' if left else ''}{key}{' ' if right else ''}", int(left), int(right), fits


class Detector:
    """Compiled vocabulary: one Aho-Corasick automaton over every phrase of every language."""

    def __init__(
        self, entries: Mapping[str, list[_Entry]], parameters: Mapping[str, list[_Parameter]]
    ) -> None:
        self._automaton = ahocorasick.Automaton()
        count = 0
        for key, group in entries.items():
            for padded, left, right, fits in _automaton_keys(key, group):
                check = is_arabic(key[0])
                cjk = any(is_cjk(ch) for ch in padded)
                value = (len(padded), left, right, check, cjk, _payload(tuple(fits)))
                self._automaton.add_word(padded, value)
                count += 1
        self._empty = not count
        if count:
            self._automaton.make_automaton()
        self._units = dict(parameters)
        self._quantity = _quantity_pattern(list(parameters)) if parameters else None
        self.size = len(entries)

    @classmethod
    def load(cls, directory: Path | None = None) -> Detector:
        """Build from every *.yaml in directory: catalogue.yaml plus one file per language."""
        directory = VOCABULARY_DIR if directory is None else directory
        builder = _Builder()
        paths = sorted(directory.glob("*.yaml"))
        if not paths:
            raise VocabularyError(f"no vocabulary files in {directory}")
        for path in paths:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise VocabularyError(f"{path.name}: {exc}") from exc
            if not isinstance(data, dict):
                raise VocabularyError(f"{path.name}: expected a mapping at the top level")
            if path.stem == "catalogue":
                builder.add_catalogue(data, path.name)
            else:
                builder.add_language(data, path.name)
        return cls(builder.build(), builder.parameters)

    def _scan(self, text: str, votes: list[str] | None) -> list[_Hit]:
        """The outermost phrases in text, which starts and ends with a space.

        Stopwords only vote, into votes, and only when it is a list: they carry no signal, and
        as hits they would cost every message that has them.
        """
        found: list[_Hit] = []
        width = len(text) + 1
        for end, (length, left, right, check, cjk, payload) in self._automaton.iter(text):
            if payload.vote_only:
                if votes is not None:
                    votes += payload.languages
                continue
            start, stop = end + 1 - length + left, end + 1 - right
            if check and not (text[start - 1] == " " and text[stop] == " "):
                left_ok, right_ok = text[start - 1] == " ", text[stop] == " "
                entries = tuple(
                    e
                    for e in payload.entries
                    if (left_ok or e.open_left or (e.clitics and arabic_prefix_ok(text, start)))
                    and (right_ok or e.open_right or (e.clitics and arabic_suffix_ok(text, stop)))
                )
                if not entries:
                    continue
                payload = _payload(entries)
            order = (start * width - stop) * 4 - left - right
            found.append((order, start, stop, cjk, payload))
        if len(found) < 2:
            return found
        # A phrase inside a longer one belongs to it: "thanks" in "no thanks", "退" in "退订";
        # of one span found under several keys, the most padded speaks for all.
        found.sort(key=_BY_ORDER)
        hits: list[_Hit] = []
        reach = -1
        for hit in found:
            if hit[_STOP] > reach:
                hits.append(hit)
                reach = hit[_STOP]
        return hits

    def detect(self, text: str, language: str | None = None) -> Signals:
        """Signals in one message; language is a hint (e.g. "pt-BR") that wins ties in the guess."""
        norm, script, letter = normalise_with_script(text)
        padded = f" {norm} "
        # One vote per language of every phrase found, unless the script has told the language.
        votes: list[str] | None = [] if script is None else None
        hits = self._scan(padded, votes) if norm and not self._empty else []
        if votes is not None:
            votes += [lang for hit in hits for lang in hit[_PAYLOAD].languages]
        guess = script or _guess_language(letter, votes or [], language)
        has_digit = self._quantity is not None and _DIGIT.search(norm) is not None
        if not hits and not has_digit:  # most chatter: nothing to weigh
            return Signals(None, _NOTHING, _NOTHING, _NOTHING, False, False, False, guess, ())
        all_kinds = _NOTHING.union(*[hit[_PAYLOAD].kinds for hit in hits])
        if _NEGATOR_KINDS.isdisjoint(all_kinds):
            negated: set[int] = set()
            used_negators: set[int] = set()
        else:
            negated, used_negators = _negations(padded, hits)
        # A keyword opts out only when the message is nothing else: "STOP", not "won't stop".
        opt_out_keyword = _OPT_OUT_KW in all_kinds and _only(padded, hits, _OPT_OUT_ONLY)
        opt_in_keyword = _OPT_IN_KW in all_kinds and _only(padded, hits, _OPT_IN_ONLY)

        rank, refusal, comparison, opt_out, opt_in = 0, False, False, False, False
        interests: set[str] = set()
        categories: set[str] = set()
        evidence: list[Match] = []
        for i, hit in enumerate(hits):
            cancelled = i in negated
            for kind, value, matches, first in hit[_PAYLOAD].signals:
                if cancelled and kind in _NEGATABLE:
                    continue
                if kind == _LEVEL:
                    rank = max(rank, _RANK[value])
                elif kind == _REFUSAL:
                    if i in used_negators:
                        continue  # "discount nahi chahiye" refuses the discount, not the offer
                    refusal = True
                elif kind == _INTEREST:
                    interests.add(value)
                    rank = max(rank, _IMPLIED_RANK[value])
                elif kind == _COMPARISON:
                    comparison = True
                    interests.add("function_oriented")
                    rank = max(rank, _RANK["medium"])
                elif kind == _CATEGORY:
                    categories.add(value)
                elif kind == _OPT_OUT or (kind == _OPT_OUT_KW and opt_out_keyword):
                    opt_out = True
                elif kind == _OPT_IN or (kind == _OPT_IN_KW and opt_in_keyword):
                    opt_in = True
                else:
                    continue
                # The evidence names the phrase in the guessed language when it has one.
                evidence.append(matches.get(guess, first) if guess else first)

        if opt_out:
            # Every opt-out is a refusal, and what the customer asks us to stop sending
            # ("stop sending promos") is not what they want.
            intent: str | None = "none"
            opt_in = False  # "STOP" next to "start" is still a stop
            interests.clear()
        elif rank >= _RANK["medium"]:
            intent = "high" if rank == _RANK["high"] else "medium"
        elif refusal:
            intent = "none"
        elif rank:
            intent = "potential"
        elif not _NEGATOR_KINDS.isdisjoint(all_kinds) and _only(padded, hits, _NEGATION_ONLY):
            # A reply that is nothing but a negation ("no", "لا", "不要") turns the offer down.
            intent = "none"
            evidence.append(_bare_refusal(hits, guess))
        else:
            intent = None

        found = [m for m in evidence if m.signal != "interest"] if opt_out else evidence
        parameters: set[str] = set()
        if has_digit:
            for match, category in self._parameter_matches(norm):
                parameters.add(match.value)
                found.append(match)
                if category:
                    categories.add(category)

        return Signals(
            intent,
            frozenset(interests) if interests else _NOTHING,
            frozenset(categories) if categories else _NOTHING,
            frozenset(parameters) if parameters else _NOTHING,
            comparison,
            opt_out,
            opt_in,
            guess,
            # "👍👍" is one piece of evidence; vocabulary matches are shared objects.
            tuple({id(m): m for m in found}.values()) if len(found) > 1 else tuple(found),
        )

    def _parameter_matches(self, text: str) -> Iterator[tuple[Match, str | None]]:
        assert self._quantity is not None
        for found in self._quantity.finditer(text):
            number, multiplier, unit = found.groups()
            value = _number(number) * _MULTIPLIERS.get(multiplier, 1.0)
            for parameter in self._units[unit]:
                if parameter.minimum <= value <= parameter.maximum:
                    match = Match("parameter", parameter.tag, found.group(0), "und")
                    yield match, parameter.category


def _bare_refusal(hits: list[_Hit], guess: str | None) -> Match:
    """The evidence of a message made of negators only: its first negator, as a refusal."""
    negators = [e for hit in hits for e in hit[_PAYLOAD].entries if e.kind in _NEGATOR_KINDS]
    entry = next((e for e in negators if e.language == guess), negators[0])
    return Match("intent", "none", entry.match.phrase, entry.language)


def _guess_language(letter: str | None, votes: list[str], hint: str | None) -> str | None:
    """The language with the most phrases found (plus a telling letter such as ñ or ã); the hint
    (the contact's known language) wins a tie, then the order of LANGUAGES."""
    if letter is not None:
        votes.append(letter)
    hint = hint.replace("_", "-").split("-")[0].lower() if hint else None
    best, guess = 0, None
    present = set(votes)
    for lang in LANGUAGES:
        if lang in present:
            count = votes.count(lang)
            if count > best or (count == best and lang == hint):
                best, guess = count, lang
    if guess is None and hint in LANGUAGES:
        return hint
    return guess


@functools.lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector over the packaged vocabulary, built once per process."""
    return Detector.load()

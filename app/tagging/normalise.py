"""Text normalisation for the intent detector: case, accents, scripts, repeated letters, spacing.

Pure and table-driven: what a customer types in any of the supported scripts becomes the form the
vocabulary is written in, with a hint of the language the script gives away.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# Customers type either script; matching happens in simplified characters.
_TRADITIONAL = (
    "這個們來說點貨價錢優買賣運費郵號單訂換還讓麼樣會寶電話視頻對後為與從時間問題實長東過顏碼"
    "熱線網購務聯係擇愛謝親萬蘋華應該現級專業評論遞達區裝備條數據護膚髮顧歡讀學習銷輕舊滿減"
    "贈禮領搶團聲藍紅綠黃傳輸連鍵顯頭鏡錶鐘襪褲麗妝關閉絕煩擾騷復約閱發別開車機續嗎嘛無沒"
    "見張當幫給誰於幾隻攝適戲試質兩籃壞壓壽彈變邊厲廠攜帶產讚請貴嬰兒設書種體殼廣燈鍋壺轉"
    "帳庫補預門處臉紙員訊較選錯經裡闆圖測參規講趨勢養殺劃筆記腦鞋襯裙擴聽響"
)
_SIMPLIFIED = (
    "这个们来说点货价钱优买卖运费邮号单订换还让么样会宝电话视频对后为与从时间问题实长东过颜码"
    "热线网购务联系择爱谢亲万苹华应该现级专业评论递达区装备条数据护肤发顾欢读学习销轻旧满减"
    "赠礼领抢团声蓝红绿黄传输连键显头镜表钟袜裤丽妆关闭绝烦扰骚复约阅发别开车机续吗嘛无没"
    "见张当帮给谁于几只摄适戏试质两篮坏压寿弹变边厉厂携带产赞请贵婴儿设书种体壳广灯锅壶转"
    "账库补预门处脸纸员讯较选错经里板图测参规讲趋势养杀划笔记脑鞋衬裙扩听响"
)


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Punctuation, symbols and emoji stand apart from words, so that a word boundary is always
    # a space ("price?" → "price ?"). The point and comma are left to _DOT_COMMA: "20.000mah".
    symbols = (
        *range(0x21, 0x30),
        *range(0x3A, 0x41),
        *range(0x5B, 0x61),
        *range(0x7B, 0x7F),
        *range(0xA1, 0xC0),
        0xD7,
        0xF7,
        *range(0x2010, 0x205F),
        *range(0x20A0, 0x20D0),
        *range(0x2100, 0x2C00),
        *range(0x3000, 0x3040),
        *range(0x1F000, 0x1FB00),
    )
    for cp in symbols:
        table[cp] = f" {chr(cp)} "
    for cp in (ord("."), ord(",")):
        del table[cp]
    for cp in (*range(0x20), *range(0x7F, 0xA0)):
        table[cp] = " "
    for cp in (0x0A, 0x0D, 0x85, 0x2028, 0x2029):  # a line break ends a clause
        table[cp] = " . "
    invisible = (0xAD, 0x61C, 0x180E, 0xFEFF, *range(0xFE00, 0xFE10), *range(0x200B, 0x2010))
    for cp in (*invisible, *range(0x202A, 0x202F), *range(0x2060, 0x2070)):
        table[cp] = None
    for cp in range(0x1F3FB, 0x1F400):  # skin tones: 👍🏽 is 👍
        table[cp] = None
    for ch in "'’‘`´ʼ":  # one apostrophe, so that contractions fold alike
        table[ord(ch)] = "'"
    for ch in "-‐‑–—_":  # "sèche-cheveux" ≡ "seche cheveux"
        table[ord(ch)] = " "
    for cp in range(0x300, 0x370):
        table[cp] = None
    for cp in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        decomposed = unicodedata.normalize("NFD", chr(cp))
        if len(decomposed) > 1 and decomposed[0].isascii():
            table[cp] = decomposed[0].lower()
    for src, dst in {
        "đ": "d",
        "ø": "o",
        "ł": "l",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "ß": "ss",
    }.items():
        table[ord(src)] = dst
    for src, dst in {
        "。": " . ",
        "、": " , ",
        "।": " . ",
        "،": " , ",
        "؟": " ? ",
        "؛": " ; ",
    }.items():
        table[ord(src)] = dst
    # Arabic: hamza carriers, alif maqsura and ta marbuta are written interchangeably in chat.
    for src, dst in {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و"}.items():
        table[ord(src)] = dst
    for src, dst in {"ئ": "ي", "ی": "ي", "ک": "ك"}.items():
        table[ord(src)] = dst
    for cp in (0x640, *range(0x64B, 0x660), 0x670):  # tatweel and harakat
        table[cp] = None
    for base in (0x660, 0x6F0, 0x966):  # Arabic-Indic, Persian and Devanagari digits
        for i in range(10):
            table[base + i] = str(i)
    table[0x93C] = None  # nukta: ज़ and ज are typed interchangeably
    table[0x901] = "\u0902"  # chandrabindu → anusvara: हूँ ≡ हूं
    for trad, simp in zip(_TRADITIONAL, _SIMPLIFIED, strict=True):
        if trad != simp:
            table[ord(trad)] = simp
    return table


_TABLE: Final = _build_table()
# Text within Latin Extended-B (English, and Spanish or German with their accents) has only a
# few characters that change; a regex finds them faster than NFKC and str.translate walk the
# whole text. Below U+0250 no character composes with another, so mapping one at a time gives
# what the long road gives.
_BEYOND_LATIN: Final = re.compile("[^\x00-\u024f]")
_LATIN_SPECIAL: Final = {
    chr(cp): unicodedata.normalize("NFKC", chr(cp)).casefold().translate(_TABLE)
    for cp in range(0x250)
}
_LATIN_SPECIAL_CHAR: Final = re.compile(r"[^a-z0-9 .,]")
# "don't" ≡ "dont", "I'll" ≡ "ill", "what's" ≡ "whats"; other apostrophes separate words, as in
# the French elisions "j'achète", "m'envoyer".
_CONTRACTION: Final = re.compile(r"(?<=[a-z])'(?=(?:t|s|ll|re|ve|m|d)\b)")
_ELONGATION: Final = re.compile(r"([a-z\u0621-\u064a])\1\1+")
_DOUBLE: Final = re.compile(r"([a-z])\1")
_DOT_COMMA: Final = re.compile(r"[.,](?!(?<=\d[.,])\d)")  # not inside a number
_CJK_CLASS: Final = "\u2e80-\ua4cf\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN: Final = re.compile(f"[{_CJK_CLASS}]+")
# Characters that tell the language by themselves: Devanagari, Arabic, Han, Vietnamese letters.
_HAN_CLASS: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SCRIPT_CHAR: Final = re.compile(
    f"[\u0900-\u097f\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc{_HAN_CLASS}"
    "ăđơư\u1ea0-\u1ef9]"
)
_LETTER_CHAR: Final = re.compile("[ñ¿¡ãõäöüœèëïîûù]")
_LETTER_LANGUAGE: Final = {
    **dict.fromkeys("ñ¿¡", "es"),
    **dict.fromkeys("ãõ", "pt"),
    **dict.fromkeys("äöü", "de"),
    **dict.fromkeys("œèëïîûù", "fr"),
}


def _script_language(ch: str) -> str:
    """The language of a character _SCRIPT_CHAR found."""
    if ch in "ăđơư" or "\u1ea0" <= ch <= "\u1ef9":
        return "vi"
    if "\u0900" <= ch <= "\u097f":
        return "hi"
    if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff":
        return "zh"
    return "ar"


def _spaced(match: re.Match[str]) -> str:
    return f" {match.group()} "


def _first(match: re.Match[str]) -> str:
    return match.group(1)


def _latin_special(match: re.Match[str]) -> str:
    ch = match.group()
    mapped = _LATIN_SPECIAL.get(ch)
    if mapped is None:  # lower() took it past U+024F: "Ə" → "ə"
        mapped = unicodedata.normalize("NFKC", ch).casefold().translate(_TABLE)
    return mapped


def normalise_with_script(text: str) -> tuple[str, str | None, str | None]:
    """Return (normalised text, language by script, language by a telling letter)."""
    script = letter = None
    ascii_only = text.isascii()
    latin = ascii_only or not _BEYOND_LATIN.search(text)
    folded = text.lower() if latin else unicodedata.normalize("NFKC", text).casefold()
    if not ascii_only:
        found = _SCRIPT_CHAR.search(folded)
        if found is not None:
            script = _script_language(found.group())
        else:
            found = _LETTER_CHAR.search(folded)
            letter = _LETTER_LANGUAGE[found.group()] if found is not None else None
    if latin:
        folded = _LATIN_SPECIAL_CHAR.sub(_latin_special, folded)
    else:
        folded = folded.translate(_TABLE)
        if script == "zh" or _CJK_RUN.search(folded):
            folded = _CJK_RUN.sub(_spaced, folded)  # Latin next to Han still ends a word
    if "'" in folded:
        folded = _CONTRACTION.sub("", folded).replace("'", " ")
    if "." in folded or "," in folded:
        folded = _DOT_COMMA.sub(_spaced, folded)
    # A letter typed three or more times is one letter: "pleeease" ≡ "please", "priiice" ≡ "price".
    folded = _ELONGATION.sub(_first, folded)
    return " ".join(folded.split()), script, letter


def normalise(text: str) -> str:
    """The form both messages and vocabulary phrases are matched in."""
    return normalise_with_script(text)[0]


def shortened(key: str) -> str | None:
    """The phrase with its double letters single, as an elongated message normalises to it.

    "goooood" normalises to "god", so "good" must also be found as "god". A word that would
    shrink below three letters ("off" → "of", "see" → "se") is not worth the false matches.
    """
    single = _DOUBLE.sub(r"\1", key)
    if single == key:
        return None
    changed = [s for k, s in zip(key.split(), single.split(), strict=True) if k != s]
    return single if all(len(word) >= 3 for word in changed) else None


def is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\ua4cf" or "\uac00" <= ch <= "\ud7af" or "\uf900" <= ch <= "\ufaff"


def is_word(ch: str) -> bool:
    """Whether ch continues a word; CJK has no word boundaries, Devanagari marks continue one."""
    if ch.isalnum():
        return not is_cjk(ch)
    return "\u0900" <= ch <= "\u097f"


def is_arabic(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a"


# Arabic attaches conjunctions, prepositions, the article and pronouns to the word itself.
_AR_PREFIXES: Final = frozenset(
    {*"وفبلكس", "ال", "وال", "بال", "فال", "كال", "لل", "ولل", "وب", "ول", "وس", "فب", "فل", "فس"}
)
_AR_SUFFIXES: Final = frozenset(
    ["ه", "ها", "هم", "هن", "هما", "ك", "كم", "كن", "كما", "ي", "ني", "نا", "ين", "ون", "ات", "ا"]
)


def arabic_prefix_ok(text: str, start: int) -> bool:
    i = start
    while i > 0 and is_word(text[i - 1]) and start - i < 3:
        i -= 1
    return not (i > 0 and is_word(text[i - 1])) and text[i:start] in _AR_PREFIXES


def arabic_suffix_ok(text: str, stop: int) -> bool:
    j, n = stop, len(text)
    while j < n and is_word(text[j]) and j - stop < 3:
        j += 1
    return not (j < n and is_word(text[j])) and text[stop:j] in _AR_SUFFIXES

"""Pure CSV reading as tables: header rules, line numbers, encodings, structural problems."""

from __future__ import annotations

import pytest

from app.transfer.table import MAX_LISTED, Problem, Rejected, decode, read

COLUMNS = ("wa_id", "user_id", "name")


def test_header_any_case_and_order_and_cells_trimmed() -> None:
    table = read(" Name ,WA_ID\n Jonas , 4915112345678 \n", columns=COLUMNS, one_of=("wa_id",))
    assert table.columns == ("name", "wa_id")
    assert [(r.line, r.cells) for r in table.rows] == [
        (2, {"name": "Jonas", "wa_id": "4915112345678"})
    ]
    assert table.rows[0].get("user_id") is None
    assert table.problems == []


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("wa_id\n1\n2\n", [2, 3]),
        ("wa_id\r\n1\r\n\r\n2\r\n", [2, 4]),
        ('wa_id,name\n1,"a\nb"\n2,c\n', [2, 4]),
        ('wa_id,name\n1,"a\r\n\r\nb"\n2,c', [2, 5]),
        ("wa_id,name\n,\n1,x\n", [3]),
        ("wa_id\r1\r2\r", [2, 3]),
    ],
    ids=["lf", "crlf-blank", "quoted-break", "quoted-blank-line", "empty-cells-row", "cr-only"],
)
def test_each_row_knows_the_line_it_starts_on(text: str, lines: list[int]) -> None:
    assert [r.line for r in read(text, columns=COLUMNS).rows] == lines


def test_semicolons_when_the_header_has_no_comma() -> None:
    table = read("wa_id;name\n1;Müller, Hans\n", columns=COLUMNS)
    assert table.rows[0].cells == {"wa_id": "1", "name": "Müller, Hans"}


def test_escaped_cells_are_read_back() -> None:
    assert read("name\n'=1+2\n", columns=COLUMNS).rows[0].cells == {"name": "=1+2"}


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, "empty file"),
        ("  \n\n", {}, "empty file"),
        ("name\nx\n", {"one_of": ("wa_id", "user_id")}, "wa_id or user_id"),
        ("wa_id\n1\n", {"required": ("name", "user_id")}, "columns name, user_id"),
    ],
    ids=["empty", "blank", "no-id", "required"],
)
def test_files_that_cannot_be_read_are_rejected_at_once(
    text: str, kwargs: dict[str, tuple[str, ...]], message: str
) -> None:
    with pytest.raises(Rejected) as caught:
        read(text, columns=COLUMNS, **kwargs)
    (problem,) = caught.value.problems
    assert problem.line == 1
    assert message in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wa_id,nmae\n1,x\n", [(1, "unknown column 'nmae'")]),
        ("wa_id,wa_id\n1,2\n", [(1, "'wa_id' appears twice")]),
        ("wa_id\n1,2\n", [(2, "2 cells but the header has 1")]),
        ("wa_id,\n1,2\n", [(2, "without a header name")]),
        ('wa_id,name\n1,"open\n2,x\n', [(2, "unreadable CSV")]),
    ],
    ids=["unknown-column", "twice", "extra-cell", "unnamed-column", "open-quote"],
)
def test_structural_problems_are_collected_with_lines(
    text: str, expected: list[tuple[int, str]]
) -> None:
    problems = read(text, columns=COLUMNS).problems
    assert len(problems) == len(expected)
    for problem, (line, words) in zip(problems, expected, strict=True):
        assert problem.line == line
        assert words in problem.message


def test_ignored_columns_are_allowed_and_skipped() -> None:
    table = read("wa_id,status\n1,red\n", columns=COLUMNS, ignored=("status",))
    assert table.problems == []
    assert table.rows[0].cells == {"wa_id": "1"}


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"\xef\xbb\xbfwa_id\n", "wa_id\n"), ("wa_id\nJürgen\n".encode(), "wa_id\nJürgen\n")],
    ids=["bom", "no-bom"],
)
def test_decode_utf8_with_or_without_bom(data: bytes, text: str) -> None:
    assert decode(data) == text


def test_decode_names_the_line_of_a_bad_byte() -> None:
    with pytest.raises(Rejected) as caught:
        decode("wa_id\n1\nJ\xfcrgen\n".encode("latin-1"))
    assert caught.value.problems == [
        Problem(3, "not UTF-8 (byte 0xfc); save the file as 'CSV UTF-8' or convert it to UTF-8")
    ]


def test_the_list_is_capped_but_the_count_is_not() -> None:
    rejected = Rejected([Problem(n, "bad") for n in range(MAX_LISTED + 5, 1, -1)])
    assert len(rejected.problems) == MAX_LISTED + 4
    assert len(rejected.listed) == MAX_LISTED
    assert rejected.listed[0].line == 2
    assert str(rejected.listed[0]) == "line 2: bad"

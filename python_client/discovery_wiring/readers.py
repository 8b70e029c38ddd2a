"""Streaming readers for inventory files: delimited text, XLSX workbooks, JSON.

:func:`open_source` looks at the start of a file only and returns a
:class:`Source`: its format, text encoding, delimiter, sheet, and headers.
``Source.records()`` then streams the rows as dicts, as often as asked.

What is guaranteed:

- Nothing holds a whole file: text is decoded and parsed row by row, a sheet is
  read row by row (openpyxl read-only mode), a JSON array element by element.
- Any file that cannot be read raises :class:`ReadError`, whose ``str`` is one
  line naming the file and the place (line, row, sheet); no other exception
  escapes for a bad file (undecodable or binary bytes, a corrupt or truncated
  workbook or JSON text, an empty file). A file with a header and no rows has
  zero records: that is not an error.
- Values are what the file holds. Text cells stay strings exactly as written
  (the server trims them and turns empties into nulls); workbook cells become
  their natural text (``4096``, not ``4096.0``; dates in ISO 8601; None when
  empty); JSON values keep their types, nested objects and arrays included.
- Headers of text files and workbooks are clean and unique: every kind of
  whitespace (no-break, zero-width, BOM) is trimmed and inner runs become one
  space; a blank header is ``column_<n>`` (its 1-based position); a repeated one
  is ``Name (2)``, ``Name (3)``. A row's cells beyond the last header go to
  ``extra_column_<n>`` when not empty; wholly empty rows are skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import chain, count, islice
from pathlib import Path
from typing import Any, NoReturn, TextIO

import charset_normalizer
import openpyxl

_READ_SIZE = 1 << 16  # characters per read of a JSON text
_SAMPLE_SIZE = 1 << 16  # leading bytes that decide encoding, format and delimiter
_SNIFF_ROWS = 50  # rows that decide the delimiter
_HEADER_RECORDS = 100  # JSON records whose keys make the header list

_TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".tab", ".txt"})
_WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm"})
_JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_DELIMITERS = (",", ";", "\t", "|")
# Members that hold the records of a JSON object wrapping them (NetBox and
# Django REST: results; Snipe-IT: rows; OData: value).
_WRAPPER_KEYS = ("results", "data", "items", "value", "rows", "records")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: same first bytes
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_SINGLE_BYTE = ("cp1252", "mac_roman", "latin_1")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NOT_JSON_SPACE = re.compile(r"[^ \t\n\r]")
_SEP_LINE = re.compile(r"sep=(.)\r?\n?$")  # Excel's delimiter hint on the first line

# Bytes that are not valid in the detected encoding (a UTF-8 file with a stray
# Windows-1252 byte, or one of the five bytes Windows-1252 leaves undefined)
# are read as Windows-1252, else as Latin-1: every byte has a character.
_FALLBACK = "discovery_wiring.cp1252"
_CP1252 = tuple(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(_CP1252[b] for b in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(_FALLBACK, _cp1252_fallback)


class ReadError(ValueError):
    """A file that cannot be read; ``str`` is one line: ``<file>: <where>: <message>``."""

    def __init__(self, path: str | Path, where: str | None, message: str):
        self.path = Path(path)
        self.where = where
        self.message = " ".join(str(message).split())
        super().__init__(str(self))

    def __str__(self) -> str:
        place = f"{self.where}: " if self.where else ""
        return f"{self.path}: {place}{self.message}"


@dataclass(frozen=True)
class Source:
    """A readable inventory file, as :func:`open_source` found it.

    ``format`` is ``csv`` (any delimited text), ``xlsx``, ``json`` (an array of
    objects, or an object whose ``json_member`` holds that array) or ``jsonl``.
    ``headers`` are the clean column names (for JSON: the keys of the first
    records, in order of appearance); ``sheets`` lists a workbook's sheets.
    """

    path: Path
    format: str
    headers: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    json_member: str | None = None

    def records(self) -> Iterator[dict[str, Any]]:
        """Stream the rows as dicts; each call reads the file again."""
        if self.format == "csv":
            return _records(_delimited_rows(self))
        if self.format == "xlsx":
            return _records(_sheet_rows(self))
        if self.format == "jsonl":
            return _json_lines(self)
        return _json_records(self)

    @property
    def summary(self) -> str:
        """One line for people: ``csv, cp1252, delimiter ';'`` and the like."""
        if self.format == "xlsx":
            return f"xlsx, sheet {self.sheet!r} of {', '.join(map(repr, self.sheets))}"
        parts = [self.format, self.encoding or ""]
        if self.delimiter:
            parts.append(f"delimiter {'TAB' if self.delimiter == chr(9) else repr(self.delimiter)}")
        if self.json_member:
            parts.append(f"records in {self.json_member!r}")
        return ", ".join(p for p in parts if p)


def open_source(path: str | Path, sheet: str | None = None, default_sheet: str | None = None) -> Source:
    """Identify a file from its first bytes (and, for JSON, its first records).

    ``sheet`` names the workbook sheet to read and must exist; otherwise
    ``default_sheet`` is read when the workbook has it (the profile's, e.g.
    ``vInfo``), else the first sheet. Sheet names match case-insensitively when
    no sheet matches exactly. Raises :class:`ReadError`.
    """
    path = Path(path)
    head = _head(path)
    if head.startswith(_ZIP_MAGIC):
        return _open_workbook(path, sheet, default_sheet)
    if head.startswith(_OLE2_MAGIC):
        raise ReadError(path, None, "a legacy Excel .xls (or other OLE2) file: save the sheet as .xlsx or CSV")
    if sheet is not None:
        raise ReadError(path, f"sheet {sheet}", "not a workbook: only XLSX files have sheets")
    if path.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise ReadError(path, "byte 0", "not an XLSX workbook (no ZIP signature): the file is damaged or mislabelled")
    whole = len(head) < _SAMPLE_SIZE
    encoding = _detect_encoding(path, head, whole)
    text = _decode_sample(path, head, encoding, whole)
    kind = _text_kind(path, text)
    if kind == "csv":
        return _open_delimited(path, encoding, text, whole)
    return _open_json(path, encoding, kind)


def iter_records(path: str | Path, sheet: str | None = None) -> Iterator[dict[str, Any]]:
    """Stream the rows of any supported file as dicts (see :func:`open_source`)."""
    yield from open_source(path, sheet=sheet).records()


# -- bytes to text ---------------------------------------------------------------------------------

def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            head = fh.read(_SAMPLE_SIZE)
    except OSError as exc:
        raise ReadError(path, None, exc.strerror or str(exc)) from exc
    if not head:
        raise ReadError(path, None, "the file is empty")
    return head


def _detect_encoding(path: Path, sample: bytes, whole: bool) -> str:
    """A byte order mark decides; else UTF-8 when the sample decodes as UTF-8;
    else the single-byte encoding charset-normalizer finds plausible."""
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if b"\x00" in sample:
        name = _utf16_without_bom(sample)
        if name is None:
            raise ReadError(path, f"byte {sample.index(0)}", "binary data (a NUL byte), not text")
        return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    found = [m.encoding for m in charset_normalizer.from_bytes(sample, cp_isolation=list(_SINGLE_BYTE))]
    if not found:
        raise ReadError(path, None, "cannot tell the text encoding (not UTF-8, UTF-16, Windows-1252 or Mac Roman)")
    if "mac_roman" in found:
        # charset-normalizer finds both plausible for Western text; the
        # letters in words tell them apart (see _western_score)
        return max(("cp1252", "mac_roman"), key=lambda name: _western_score(sample, name))
    return "cp1252"  # for Latin-1 text too: they differ only in C1 control codes


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 text without a BOM has NUL bytes in every other position."""
    half = max(len(sample) // 2, 1)
    even, odd = sample[0::2].count(0) / half, sample[1::2].count(0) / half
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


def _western_score(sample: bytes, encoding: str) -> int:
    """How well a decoding reads as Western European text: a non-ASCII letter
    inside a word in the word's case counts for it; a symbol inside a word, or
    a capital among small letters, counts against it."""
    text = sample.decode(encoding, errors="replace")
    score = 0
    for i, ch in enumerate(text):
        if ch < "\x80":
            continue
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if not (before.isalpha() or after.isalpha()):
            continue
        misplaced = not ch.isalpha() or (ch.isupper() and (before.islower() or after.islower()))
        score += -1 if misplaced else 1
    return score


def _errors_for(encoding: str) -> str:
    return "strict" if encoding.startswith(("utf-16", "utf-32")) else _FALLBACK


def _decode_sample(path: Path, sample: bytes, encoding: str, whole: bool) -> str:
    try:
        text = codecs.getincrementaldecoder(encoding)(_errors_for(encoding)).decode(sample, final=whole)
    except UnicodeDecodeError as exc:
        raise ReadError(path, f"byte {exc.start}", f"not valid {encoding} text ({exc.reason})") from exc
    controls = len(_CONTROL.findall(text))
    if controls > max(2, len(text) // 100):
        raise ReadError(path, None, f"binary data ({controls} control characters in the first "
                                    f"{len(text)} characters), not text")
    return text


@contextmanager
def _text_file(source: Source) -> Iterator[TextIO]:
    """The file as text in its encoding, line endings untranslated (for csv).
    Readers turn a UnicodeDecodeError into :func:`_undecodable` at their place."""
    encoding = source.encoding or "utf-8"
    try:
        fh = source.path.open("r", encoding=encoding, errors=_errors_for(encoding), newline="")
    except OSError as exc:
        raise ReadError(source.path, None, exc.strerror or str(exc)) from exc
    with fh:
        yield fh


def _undecodable(source: Source, where: str, exc: UnicodeDecodeError) -> ReadError:
    return ReadError(source.path, where, f"not valid {source.encoding} text ({exc.reason})")


def _text_kind(path: Path, text: str) -> str:
    """``csv``, ``json`` or ``jsonl``: from the file name, else from the first character."""
    suffix = path.suffix.lower()
    if suffix in _JSON_LINES_SUFFIXES:
        return "jsonl"
    first = text.lstrip()[:1]
    if suffix == ".json" or (suffix not in _TEXT_SUFFIXES and first in ("[", "{")):
        return _json_kind(path, text.lstrip())
    return "csv"


def _json_kind(path: Path, text: str) -> str:
    """An object on the first line with more text after it is JSON Lines."""
    if text.startswith("["):
        return "json"
    if not text.startswith("{"):
        raise ReadError(path, "line 1", "expected a JSON array or object")
    first, _, rest = text.partition("\n")
    if rest.strip():
        try:
            if isinstance(json.loads(first), dict):
                return "jsonl"
        except json.JSONDecodeError:
            pass
    return "json"


# -- rows to records -------------------------------------------------------------------------------

def _clean_header(cell: Any) -> str:
    """A header cell as text: invisible characters removed, every run of
    whitespace (any kind) one space, none at either end."""
    text = "" if cell is None else str(cell)
    return " ".join(text.translate(_INVISIBLE).split())


def _unique_headers(cells: list[Any]) -> tuple[str, ...]:
    """Clean header cells; blank trailing cells dropped, other blanks named
    ``column_<n>``, repeats named ``Name (2)``, ``Name (3)``."""
    names = [_clean_header(c) for c in cells]
    while names and not names[-1]:
        names.pop()
    taken = set(names)
    out: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(names, 1):
        name = name or f"column_{position}"
        if name in seen:
            name = next(f"{name} ({n})" for n in count(2) if f"{name} ({n})" not in taken | seen)
        seen.add(name)
        out.append(name)
    return tuple(out)


def _blank(cells: list[Any]) -> bool:
    return all(c is None or not c.strip() for c in cells)


def _record(headers: tuple[str, ...], cells: list[Any]) -> dict[str, Any]:
    record = dict(zip(headers, cells))
    if len(cells) == len(headers):
        return record
    for header in headers[len(cells):]:
        record[header] = None
    for position in range(len(headers), len(cells)):
        if cells[position] not in (None, ""):
            record[f"extra_column_{position + 1}"] = cells[position]
    return record


def _records(rows: Iterator[list[Any]]) -> Iterator[dict[str, Any]]:
    """The first row is the header; the others become records."""
    header = next(rows, None)
    if header is None:
        return
    headers = _unique_headers(header)
    for cells in rows:
        yield _record(headers, cells)


# -- delimited text --------------------------------------------------------------------------------

def _open_delimited(path: Path, encoding: str, text: str, whole: bool) -> Source:
    sep = _SEP_LINE.match(text.partition("\n")[0] + "\n")
    if sep:
        delimiter = sep.group(1)
    else:
        complete = text if whole else text[:max(text.rfind("\n"), 0)]
        delimiter = _sniff_delimiter(complete or text, path.suffix.lower())
    source = Source(path, "csv", encoding=encoding, delimiter=delimiter)
    header = next(_delimited_rows(source), None)
    if header is None:
        raise ReadError(path, None, "no header row: the file holds only blank lines")
    return replace(source, headers=_unique_headers(header))


def _sniff_delimiter(text: str, suffix: str) -> str:
    """The delimiter whose rows most consistently have the header's number of
    fields (then: more fields); comma when none gives two fields."""
    preferred = "\t" if suffix in (".tsv", ".tab") else ","
    best, best_key = ",", (-1.0, 0)
    for delimiter in sorted(_DELIMITERS, key=lambda d: d != preferred):
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            rows = [r for r in islice(reader, _SNIFF_ROWS) if not _blank(r)]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width, data = len(rows[0]), rows[1:]
        consistency = sum(len(r) == width for r in data) / len(data) if data else 1.0
        if (consistency, width) > best_key:
            best, best_key = delimiter, (consistency, width)
    return best


def _delimited_rows(source: Source) -> Iterator[list[str]]:
    """Non-blank rows of a delimited text file, header first."""
    with _text_file(source) as fh:
        try:
            first = fh.readline()
        except UnicodeDecodeError as exc:
            raise _undecodable(source, "line 1", exc) from exc
        skipped = 1 if _SEP_LINE.match(first) else 0
        reader = csv.reader(fh if skipped else chain([first], fh), delimiter=source.delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise _undecodable(source, f"line {reader.line_num + skipped + 1}", exc) from exc
            except csv.Error as exc:
                raise ReadError(source.path, f"line {reader.line_num + skipped}", str(exc)) from exc
            if not _blank(row):
                yield row


# -- workbooks -------------------------------------------------------------------------------------

@contextmanager
def _workbook(path: Path) -> Iterator[Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it drops
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl reports damaged input with many exception types
        raise ReadError(path, None, f"not a readable XLSX workbook ({_reason(exc)})") from exc
    try:
        yield book
    finally:
        book.close()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _open_workbook(path: Path, sheet: str | None, default_sheet: str | None) -> Source:
    with _workbook(path) as book:
        sheets = tuple(book.sheetnames)
    chosen = _choose_sheet(path, sheets, sheet, default_sheet)
    source = Source(path, "xlsx", sheet=chosen, sheets=sheets)
    header = next(_sheet_rows(source), None)
    if header is None:
        raise ReadError(path, f"sheet {chosen}", "the sheet is empty")
    return replace(source, headers=_unique_headers(header))


def _choose_sheet(path: Path, sheets: tuple[str, ...], sheet: str | None, default_sheet: str | None) -> str:
    if sheet is not None:
        found = _find_sheet(sheets, sheet)
        if found is None:
            raise ReadError(path, f"sheet {sheet}", f"no such sheet; the workbook has: {', '.join(sheets)}")
        return found
    if default_sheet is not None and (found := _find_sheet(sheets, default_sheet)) is not None:
        return found
    if not sheets:
        raise ReadError(path, None, "the workbook has no sheets")
    return sheets[0]


def _find_sheet(sheets: tuple[str, ...], wanted: str) -> str | None:
    if wanted in sheets:
        return wanted
    folded = [s for s in sheets if s.strip().casefold() == wanted.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def _sheet_rows(source: Source) -> Iterator[list[str | None]]:
    """Non-blank rows of the source's sheet as text cells, header first."""
    where = f"sheet {source.sheet}"
    with _workbook(source.path) as book:
        sheet = book[source.sheet]
        if not hasattr(sheet, "iter_rows"):
            raise ReadError(source.path, where, "a chart sheet, not a sheet of cells")
        sheet.reset_dimensions()  # a stale <dimension> would pad every row to it
        rows = sheet.iter_rows(values_only=True)
        for number in count(1):
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # damaged XML or compression inside the sheet
                raise ReadError(source.path, f"{where}, row {number}", _reason(exc)) from exc
            cells = [_cell_text(v) for v in values]
            if not _blank(cells):
                yield cells


def _cell_text(value: Any) -> str | None:
    """A workbook cell as the text a person reads in it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return format(value, ".15g")  # Excel's precision: 0.3, not 0.30000000000000004
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# -- JSON ------------------------------------------------------------------------------------------

class _JsonText:
    """One JSON text read incrementally: values are decoded one at a time, so
    an array of any length never sits in memory whole."""

    def __init__(self, source: Source, fh: TextIO):
        self.source = source
        self._fh = fh
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # the line of _buf[0]
        self._decoder = json.JSONDecoder()

    def where(self, pos: int | None = None) -> str:
        return f"line {self._line + self._buf.count(chr(10), 0, self._pos if pos is None else pos)}"

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        raise ReadError(self.source.path, self.where(pos), message)

    def _fill(self) -> bool:
        try:
            chunk = self._fh.read(_READ_SIZE)
        except UnicodeDecodeError as exc:  # the text layer drops the whole read: say where it began
            raise _undecodable(self.source, f"after {self.where(len(self._buf))}", exc) from exc
        self._line += self._buf.count("\n", 0, self._pos)
        self._buf, self._pos = self._buf[self._pos:] + chunk, 0
        self._eof = not chunk
        return bool(chunk)

    def peek(self) -> str:
        """The next character that is not whitespace, not consumed ('' at the end)."""
        while True:
            found = _NOT_JSON_SPACE.search(self._buf, self._pos)
            if found:
                self._pos = found.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._fill():
                return ""

    def take(self, char: str, what: str) -> None:
        found = self.peek()
        if found != char:
            self.fail(f"expected {what}, found {found!r}" if found else f"expected {what}, found the end of the file")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next value, reading more text until it is complete."""
        if not self.peek():
            self.fail("unexpected end of the file")
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._may_continue(exc) and self._fill():
                    continue
                self.fail(f"invalid JSON: {exc.msg}", exc.pos)
            if end == len(self._buf) and not self._eof and self._fill():
                continue  # a number may go on in the next block: decode again
            self._pos = end
            return value

    def _may_continue(self, exc: json.JSONDecodeError) -> bool:
        """Whether the error may only mean that the value goes on beyond the
        text read so far (a syntax error well inside it never reads more)."""
        return not self._eof and (exc.msg.startswith("Unterminated string") or len(self._buf) - exc.pos < 64)

    def array_start(self) -> str:
        """Consume '[' and return the next non-whitespace character, unconsumed."""
        self.take("[", "'['")
        return self.peek()

    def array_items(self) -> Iterator[Any]:
        """The items of the array whose '[' was just consumed."""
        if self.peek() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            if not self._more("]", "an element"):
                return

    def elements(self) -> Iterator[Any]:
        self.array_start()
        yield from self.array_items()

    def members(self) -> Iterator[str]:
        """The member names of the object that starts here; the caller reads
        (or skips) each member's value before asking for the next name."""
        self.take("{", "'{'")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                self.fail("expected a member name in double quotes")
            key = self.value()
            self.take(":", "':' after a member name")
            yield key
            if not self._more("}", "a member"):
                return

    def _more(self, close: str, what: str) -> bool:
        """Consume ',' (True: another item follows) or the closing bracket (False)."""
        found = self.peek()
        if found in (",", close):
            self._pos += 1
            return found == ","
        self.fail(f"expected ',' or '{close}' after {what}" if found else "unexpected end of the file")

    def skip(self) -> None:
        """Read past the next value; an array one element at a time."""
        if self.peek() == "[":
            for _ in self.elements():
                pass
        else:
            self.value()

    def end(self) -> None:
        if self.peek():
            self.fail("unexpected text after the JSON value (JSON Lines? name the file .jsonl)")


@contextmanager
def _json_text(source: Source) -> Iterator[_JsonText]:
    with _text_file(source) as fh:
        yield _JsonText(source, fh)


def _open_json(path: Path, encoding: str, kind: str) -> Source:
    source = Source(path, kind, encoding=encoding)
    if kind == "json":
        source = replace(source, json_member=_records_member(source))
    keys: dict[str, None] = {}
    for record in islice(source.records(), _HEADER_RECORDS):
        keys.update(dict.fromkeys(record))
    return replace(source, headers=tuple(keys))


def _records_member(source: Source) -> str | None:
    """None for a top-level array; for an object, the member holding the
    records: the first named results, data, items, value, rows or records whose
    value is an array of objects, else the only such array."""
    with _json_text(source) as text:
        if text.peek() == "[":
            return None
        found: list[tuple[str, bool]] = []
        for key in text.members():
            if text.peek() != "[":
                text.skip()
                continue
            first = text.array_start()
            if first == "{" and key.casefold() in _WRAPPER_KEYS:
                return key
            if first in ("{", "]"):
                found.append((key, first == "{"))
            for _ in text.array_items():
                pass
        text.end()
    return _only_member(source.path, found)


def _only_member(path: Path, found: list[tuple[str, bool]]) -> str:
    filled = [key for key, non_empty in found if non_empty]
    if len(filled) == 1 or (not filled and found):
        return (filled or [found[0][0]])[0]
    if filled:
        raise ReadError(path, None,
                        f"several arrays of objects ({', '.join(filled)}): cannot tell which holds the records")
    raise ReadError(path, None, "a JSON object with no array of records "
                                f"(expected a member such as {', '.join(_WRAPPER_KEYS)})")


def _json_records(source: Source) -> Iterator[dict[str, Any]]:
    with _json_text(source) as text:
        if source.json_member is None:
            yield from _objects(text, text.elements())
        else:
            done = False
            for key in text.members():
                if key == source.json_member and not done:
                    done = True
                    yield from _objects(text, text.elements())
                else:
                    text.skip()
        text.end()


def _objects(text: _JsonText, values: Iterator[Any]) -> Iterator[dict[str, Any]]:
    for number, value in enumerate(values, 1):
        if not isinstance(value, dict):
            text.fail(f"record {number} is {type(value).__name__}, not an object")
        yield value


def _json_lines(source: Source) -> Iterator[dict[str, Any]]:
    with _text_file(source) as fh:
        lines = iter(fh)
        for number in count(1):
            try:
                line = next(lines)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise _undecodable(source, f"line {number}", exc) from exc
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReadError(source.path, f"line {number}", f"invalid JSON: {exc.msg}") from exc
            if not isinstance(value, dict):
                raise ReadError(source.path, f"line {number}", f"{type(value).__name__}, not a JSON object")
            yield value

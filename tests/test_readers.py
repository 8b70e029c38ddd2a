"""Readers on real exports: every encoding, delimiter and line ending of a file
reads as the same rows; workbooks match their CSV sheets cell by cell; JSON in
its three shapes; every unreadable file is one ReadError line.

The real files are in ``tests/data/real-exports`` (public exports, with their
licences); no database is needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest

from discovery_wiring import loading, readers
from discovery_wiring.readers import ReadError, open_source

REAL = Path(__file__).resolve().parent / "data" / "real-exports"

RVTOOLS = REAL / "rvtools-sizing-workshop"
WORKBOOK = RVTOOLS / "SizingWorkshop-RVTools.xlsx"
VINFO_CSV = RVTOOLS / "SizingWorkshop-RVTools.vInfo.csv"
VHOST_CSV = RVTOOLS / "SizingWorkshop-RVTools.vHost.csv"
STOCK = REAL / "stock-analysis"
# Text every variant encoding can hold (Windows-1252, Latin-1 and Mac Roman)
WESTERN = ["Zürich Café", "Straße Köln", "Señor Ørsted", "Ärger Übel ± 5° µ", "Ålesund façade"]


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8",
               newline: str = "\r\n", bom: bytes = b"") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(bom + buffer.getvalue().encode(encoding))
    return path


def records(path: Path, **kwargs) -> list[dict]:
    return list(open_source(path, **kwargs).records())


def with_western_text(rows: list[list[str]]) -> list[list[str]]:
    """Every fifth row's last cell gets non-ASCII Western European text."""
    return [r if i == 0 or i % 5 else r[:-1] + [f"{r[-1]} {WESTERN[i % len(WESTERN)]}"] for i, r in enumerate(rows)]


def one_line_naming(err: pytest.ExceptionInfo, path: Path) -> str:
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: ")
    return text


# -- encodings, delimiters, line endings ---------------------------------------------------------------

VARIANTS = {
    "semicolon": {"delimiter": ";"},
    "tab": {"delimiter": "\t"},
    "pipe": {"delimiter": "|"},
    "latin-1": {"encoding": "latin-1"},
    "cp1252-semicolon": {"encoding": "cp1252", "delimiter": ";"},
    "mac-roman-cr": {"encoding": "mac_roman", "newline": "\r"},
    "utf-16-le-bom-tab": {"encoding": "utf-16-le", "bom": b"\xff\xfe", "delimiter": "\t"},
    "utf-16-be-bom": {"encoding": "utf-16-be", "bom": b"\xfe\xff"},
    "utf-8-bom": {"bom": b"\xef\xbb\xbf"},
    "lf": {"newline": "\n"},
    "cr": {"newline": "\r"},
}


@pytest.mark.parametrize("name", [VINFO_CSV.name, VHOST_CSV.name, "tests_fixtures_enterprise-cmdb-data.csv",
                                  "tests_fixtures_test-invalid-cmdb-data.csv"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_reads_as_the_utf8_comma_original(tmp_path, name, variant):
    original = RVTOOLS / name if name.startswith("Sizing") else STOCK / name
    expected = records(original)
    assert expected
    copy = write_rows(tmp_path / f"{variant}.csv", rows_of(original), **VARIANTS[variant])
    assert records(copy) == expected


@pytest.mark.parametrize("variant", VARIANTS)
def test_non_ascii_text_survives_every_variant(tmp_path, variant):
    rows = with_western_text(rows_of(VINFO_CSV))
    original = write_rows(tmp_path / "utf8.csv", rows)
    copy = write_rows(tmp_path / f"{variant}.txt", rows, **VARIANTS[variant])
    source = open_source(copy)
    assert records(copy) == records(original)
    assert source.delimiter == VARIANTS[variant].get("delimiter", ",")
    assert any(WESTERN[0] in value for r in source.records() for value in r.values())


@pytest.mark.parametrize("encoding, detected", [("cp1252", "cp1252"), ("latin-1", "cp1252"),
                                                ("mac_roman", "mac_roman"), ("utf-8", "utf-8")])
def test_a_few_accented_words_tell_the_encoding(tmp_path, encoding, detected):
    path = tmp_path / "small.csv"
    path.write_bytes("Name;City\nsrv1;Zürich\nsrv2;Köln\n".encode(encoding))
    source = open_source(path)
    assert (source.encoding, source.delimiter) == (detected, ";")
    assert [r["City"] for r in source.records()] == ["Zürich", "Köln"]


def test_a_utf8_file_with_a_stray_windows_byte_late_in_it_still_reads(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"Name,Notes\n" + b"srv,plain\n" * 10_000 + b"last,caf\xe9\n")
    source = open_source(path)
    assert source.encoding == "utf-8"
    assert list(source.records())[-1] == {"Name": "last", "Notes": "café"}


def test_semicolons_inside_values_do_not_fool_the_delimiter(tmp_path):
    path = write_rows(tmp_path / "azure.csv", [["*Server name", "IP addresses", "*Cores"],
                                               ["web01", "10.0.0.1;fe80::1", "4"], ["db01", "10.0.0.2", "8"]])
    assert records(path)[0] == {"*Server name": "web01", "IP addresses": "10.0.0.1;fe80::1", "*Cores": "4"}
    european = write_rows(tmp_path / "eu.csv", [["Name", "Load"], ["a", "2,5"], ["b", "3,75"]], delimiter=";")
    assert records(european) == [{"Name": "a", "Load": "2,5"}, {"Name": "b", "Load": "3,75"}]


def test_excel_sep_line_sets_the_delimiter(tmp_path):
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\r\nName;Notes\r\nweb01;a,b\r\n", encoding="utf-8")
    assert records(path) == [{"Name": "web01", "Notes": "a,b"}]


# -- headers and rows ---------------------------------------------------------------------------------

def test_headers_are_trimmed_named_and_never_dropped(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(
        "\ufeff\u00a0Name\u200b\t,,IP  Address,Name,Name,Name (2),Notes,\n"
        " web01 ,x,10.0.0.1,a,b,c,,\n"
        ",,,,,,,\n"
        "   ,\t,,,,,,\n"
        "db01,,,,,,n,,surplus,\n"
        "short\n",
        encoding="utf-8")
    source = open_source(path)
    assert source.headers == ("Name", "column_2", "IP Address", "Name (3)", "Name (4)", "Name (2)", "Notes")
    assert list(source.records()) == [
        {"Name": " web01 ", "column_2": "x", "IP Address": "10.0.0.1", "Name (3)": "a", "Name (4)": "b",
         "Name (2)": "c", "Notes": ""},
        {"Name": "db01", "column_2": "", "IP Address": "", "Name (3)": "", "Name (4)": "", "Name (2)": "",
         "Notes": "n", "extra_column_9": "surplus"},
        {"Name": "short", "column_2": None, "IP Address": None, "Name (3)": None, "Name (4)": None,
         "Name (2)": None, "Notes": None},
    ]


def test_a_header_without_rows_is_zero_records(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("Name,IP Address\r\n\r\n", encoding="utf-8")
    source = open_source(path)
    assert source.headers == ("Name", "IP Address") and records(path) == []


def test_a_stray_last_line_is_a_row(tmp_path):
    path = tmp_path / "eof.csv"
    path.write_text("Name,OS\nweb01,Linux\nEOF < /dev/null\n", encoding="utf-8")
    assert records(path)[-1] == {"Name": "EOF < /dev/null", "OS": None}


def test_loading_iter_records_is_the_reader(tmp_path):
    assert list(loading.iter_records(VHOST_CSV)) == records(VHOST_CSV)


# -- workbooks ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sheet, csv_file, count, first", [
    ("vInfo", VINFO_CSV, 805, {"VM": "wadfs1", "Memory": "4096", "Template": "False"}),
    ("vHost", VHOST_CSV, 34, {"Host": "vmsp-01", "# Cores": "16", "VMs per Core": "0.5"}),
])
def test_workbook_sheets_match_their_csv_cell_by_cell(sheet, csv_file, count, first):
    from_book = records(WORKBOOK, sheet=sheet)
    from_csv = records(csv_file)
    assert len(from_book) == len(from_csv) == count
    assert [{k: "" if v is None else v for k, v in r.items()} for r in from_book] == from_csv
    assert from_book[0].items() >= first.items()


def test_workbook_sheet_choice():
    assert open_source(WORKBOOK).sheet == "vInfo"
    assert open_source(WORKBOOK, default_sheet="vHost").sheet == "vHost"
    assert open_source(WORKBOOK, default_sheet="vCPU").sheet == "vInfo"  # the profile's sheet is absent
    assert open_source(WORKBOOK, sheet="VHOST").sheet == "vHost"
    source = open_source(WORKBOOK, sheet="vHost")
    assert source.sheets == ("vInfo", "vNetwork", "vPartition", "vHost") and "# Cores" in source.headers
    with pytest.raises(ReadError) as err:
        open_source(WORKBOOK, sheet="vDisk")
    assert one_line_naming(err, WORKBOOK).endswith("sheet vDisk: no such sheet; the workbook has: "
                                                   "vInfo, vNetwork, vPartition, vHost")


def test_workbook_cells_become_their_natural_text(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Servers"
    sheet.append(["Name", " Memory ", None, "Name", "Bought", "Seen", "Ratio", "Virtual", None, None])
    sheet.append([])
    sheet.append(["web01", 4096.0, 2, "x", dt.datetime(2024, 1, 15), dt.datetime(2024, 1, 15, 8, 30), 0.1 + 0.2,
                  True, None, "surplus"])
    sheet.append([None, None, None])
    sheet.append(["db01", 16384, None, None, dt.date(2023, 12, 31), None, 2.375, False])
    book.create_sheet("Empty")
    path = tmp_path / "servers.xlsx"
    book.save(path)
    source = open_source(path)
    assert source.headers == ("Name", "Memory", "column_3", "Name (2)", "Bought", "Seen", "Ratio", "Virtual")
    assert list(source.records()) == [
        {"Name": "web01", "Memory": "4096", "column_3": "2", "Name (2)": "x", "Bought": "2024-01-15",
         "Seen": "2024-01-15T08:30:00", "Ratio": "0.3", "Virtual": "True", "extra_column_10": "surplus"},
        {"Name": "db01", "Memory": "16384", "column_3": None, "Name (2)": None, "Bought": "2023-12-31",
         "Seen": None, "Ratio": "2.375", "Virtual": "False"},
    ]
    with pytest.raises(ReadError) as err:
        open_source(path, sheet="Empty")
    assert one_line_naming(err, path).endswith("sheet Empty: the sheet is empty")


# -- JSON ---------------------------------------------------------------------------------------------

NETBOX_PAGE = {
    "count": 2, "next": None, "previous": None,
    "results": [
        {"id": 5, "name": "dmi01-akron-rtr01", "status": {"value": "active", "label": "Active"},
         "site": {"id": 2, "name": "DM-Akron", "slug": "dm-akron"}, "primary_ip4": {"address": "10.0.0.1/24"},
         "tags": [{"name": "core"}]},
        {"id": 6, "name": "dmi01-albany-rtr01", "status": {"value": "planned", "label": "Planned"},
         "primary_ip4": None},
    ],
}


@pytest.mark.parametrize("wrapper", ["results", "data", "items", "value", "rows", "servers"])
def test_json_object_wrapping_the_records(tmp_path, wrapper):
    page = {k: v for k, v in NETBOX_PAGE.items() if k != "results"} | {wrapper: NETBOX_PAGE["results"]}
    page["meta"] = {"tags": ["not", "records"]}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=2))
    source = open_source(path)
    assert (source.format, source.json_member) == ("json", wrapper)
    assert source.headers == ("id", "name", "status", "site", "primary_ip4", "tags")
    assert list(source.records()) == NETBOX_PAGE["results"]  # nested values stay dicts and lists


def test_json_wrapper_ambiguity_and_empty_pages(tmp_path):
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"servers": [{"a": 1}], "disks": [{"b": 2}]}))
    with pytest.raises(ReadError) as err:
        open_source(path)
    assert "several arrays of objects (servers, disks)" in one_line_naming(err, path)
    path.write_text(json.dumps({"count": 0, "next": None, "results": []}))
    assert records(path) == []
    path.write_text(json.dumps({"count": 0}))
    with pytest.raises(ReadError):
        open_source(path)


def test_json_array_streams_across_reads(tmp_path, monkeypatch):
    rows = [{"name": "a", "n": 12345678901234567890}, {"name": "b ]", "nested": {"x": [1, 2]}}, {"name": "ü"}]
    path = tmp_path / "array.json"
    path.write_text(" [\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]\n", encoding="utf-8")
    monkeypatch.setattr(readers, "_READ_SIZE", 5)  # values straddle every read
    assert records(path) == rows
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"next": "x" * 40, "results": rows, "tail": [1, 2, 3]}))
    assert records(wrapped) == rows
    path.write_text(" [ ]\n")
    assert records(path) == []


def test_json_lines_and_powershell_utf16(tmp_path):
    rows = [{"name": "web01", "ip": ["10.0.0.1", "10.0.0.2"]}, {"name": "db01"}]
    lines = "\n".join(json.dumps(r) for r in rows) + "\n\n"
    for name in ("servers.jsonl", "servers.ndjson", "servers.json"):
        (tmp_path / name).write_text(lines)
        assert open_source(tmp_path / name).format == "jsonl" and records(tmp_path / name) == rows
    utf16 = tmp_path / "ps.json"
    utf16.write_bytes(json.dumps(rows, ensure_ascii=False).encode("utf-16"))
    assert records(utf16) == rows


# -- unreadable files ---------------------------------------------------------------------------------

def broken_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, a phrase its error says)"""
    workbook = WORKBOOK.read_bytes()
    noise = random.Random(8).randbytes(4096)
    files = {
        "empty.csv": (b"", "the file is empty"),
        "empty.json": (b"", "the file is empty"),
        "empty.xlsx": (b"", "the file is empty"),
        "blank.csv": (b"\r\n  \r\n", "no header row"),
        "noise.csv": (noise, "binary data"),
        "noise.xlsx": (noise, "not an XLSX workbook"),
        "noise": (noise, "binary data"),
        "truncated.xlsx": (workbook[: len(workbook) // 2], "not a readable XLSX workbook"),
        "legacy.xls": (bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504), "legacy Excel"),
        "invalid.json": (b'[{"name": "web01"},\n {"name": }]', "line 2: invalid JSON"),
        "truncated.json": (b'[{"name": "web01"},\n {"name": "db', "line 2"),
        "scalar.json": (b'[{"name": "web01"}, 42]', "record 2 is int, not an object"),
        "trailing.json": (b'[{"name": "web01"}] x', "unexpected text after the JSON value"),
        "no-comma.json": (b'[{"name": "web01"} {"name": "db01"}]', "line 1: expected ',' or ']' after an element"),
        "text.json": (b"hello", "expected a JSON array or object"),
        "invalid.jsonl": (b'{"name": "web01"}\n{"name": \n', "line 2: invalid JSON"),
        "truncated-utf16.csv": ("Name\r\nweb01\r\n".encode("utf-16") + b"\x00", "byte 28: not valid utf-16 text"),
        # beyond the leading sample: found while streaming
        "long-utf16.csv": (("Name\r\n" + "web01\r\n" * 5000).encode("utf-16") + b"\x00",
                           "line 5002: not valid utf-16 text"),
        "long-utf16.json": (("[\n" + ",\n".join(['{"name": "web01"}'] * 5000) + "\n]\n").encode("utf-16") + b"\x00",
                            ": after line 3451: not valid utf-16 text"),
        "long-utf16.jsonl": (('{"name": "web01"}\n' * 5000).encode("utf-16") + b"\x00",
                             "line 5001: not valid utf-16 text"),
    }
    out = {}
    for name, (content, phrase) in files.items():
        (tmp_path / name).write_bytes(content)
        out[name] = (tmp_path / name, phrase)
    return out


def test_every_unreadable_file_is_one_read_error_line(tmp_path):
    for name, (path, phrase) in broken_files(tmp_path).items():
        with pytest.raises(ReadError) as err:
            list(open_source(path).records())
        assert phrase in one_line_naming(err, path), name


def test_damage_inside_a_sheet_names_the_row(tmp_path):
    data = bytearray(WORKBOOK.read_bytes())
    middle = len(data) // 4  # inside vInfo's compressed XML
    data[middle:middle + 200] = bytes(200)
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(ReadError) as err:
        list(open_source(path).records())
    assert ": sheet vInfo, row " in one_line_naming(err, path)


def test_a_sheet_on_a_text_file_is_an_error():
    with pytest.raises(ReadError) as err:
        open_source(VHOST_CSV, sheet="vHost")
    assert "only XLSX files have sheets" in one_line_naming(err, VHOST_CSV)


# -- memory -------------------------------------------------------------------------------------------

def test_a_200000_row_file_is_read_in_little_memory(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="cp1252") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["Server Name", "IP Address", "OS", "Notes", "Owner"])
        for i in range(200_000):
            writer.writerow([f"host{i:06d}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", "Linux",
                             "Zürich, rack 4" if i % 3 else "", f"team-{i % 17}"])
    assert path.stat().st_size > 9_000_000  # held as dicts, its rows would take well over 100 MB
    script = textwrap.dedent("""
        import resource, sys
        from discovery_wiring.readers import open_source
        source = open_source(sys.argv[1])  # imports and caches warmed before the baseline
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        count = sum(1 for _ in source.records())
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(count, source.encoding, source.delimiter, (after - before) // 1024)
    """)
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    count, encoding, delimiter, growth_mb = result.stdout.split()
    assert (int(count), encoding, delimiter) == (200_000, "cp1252", ";")
    assert int(growth_mb) < 20, f"peak RSS grew by {growth_mb} MB"

"""Streaming readers for inventory files, and chunking.

Nothing here holds a whole file: CSV is read row by row (csv.DictReader, empty
strings kept as they are: the server's cleansing turns them into nulls), JSON
Lines line by line, and a JSON array element by element with an incremental
decoder (no third-party parser needed).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

_READ_SIZE = 1 << 16


def iter_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the rows of a ``.csv``, ``.json`` (array of objects) or ``.jsonl``
    / ``.ndjson`` file as dicts, streaming."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        yield from _iter_jsonl(path)
    elif suffix == ".json":
        yield from _iter_json_array(path)
    else:
        yield from _iter_csv(path)


def _iter_csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            row.pop(None, None)  # surplus cells of a ragged row have no header
            yield row


def _iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield _object(json.loads(line), f"{path}:{number}")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a JSON object per record, got {type(value).__name__}")
    return value


def _iter_json_array(path: Path) -> Iterator[dict[str, Any]]:
    """Decode a top-level JSON array one element at a time."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8-sig") as fh:
        buf, pos, eof = "", 0, False

        def fill() -> bool:
            nonlocal buf, pos, eof
            chunk = fh.read(_READ_SIZE)
            buf, pos = buf[pos:] + chunk, 0
            eof = not chunk
            return bool(chunk)

        def skip_ws() -> None:
            nonlocal pos
            while True:
                while pos < len(buf) and buf[pos].isspace():
                    pos += 1
                if pos < len(buf) or not fill():
                    return

        skip_ws()
        if pos >= len(buf) or buf[pos] != "[":
            raise ValueError(f"{path}: expected a JSON array of objects")
        pos += 1
        index, expect_value = 0, True
        while True:
            skip_ws()
            if pos >= len(buf):
                raise ValueError(f"{path}: unexpected end of file inside the array")
            if buf[pos] == "]" and (index == 0 or not expect_value):
                return
            if not expect_value:
                if buf[pos] != ",":
                    raise ValueError(f"{path}: expected ',' or ']' after element {index}")
                pos += 1
                expect_value = True
                continue
            while True:  # decode one element, reading more until it is complete
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError:
                    if eof or not fill():
                        raise
                    continue
                if end == len(buf) and not eof and fill():
                    continue  # a number may go on in the next block: decode again
                break
            pos = end
            yield _object(value, f"{path}[{index}]")
            index += 1
            expect_value = False


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size``, lazily."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


async def achunked(items: Iterable[Any] | AsyncIterable[Any], size: int) -> AsyncIterator[list[Any]]:
    """Like :func:`chunked`, for a sync or async iterable."""
    if not isinstance(items, AsyncIterable):
        for chunk in chunked(items, size):
            yield chunk
        return
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[Any] = []
    async for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

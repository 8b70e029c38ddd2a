"""Chunking of record streams; :func:`iter_records` is :func:`readers.iter_records`.

Reading files (text encodings and delimiters, XLSX workbooks, JSON) lives in
:mod:`discovery_wiring.readers`; it is re-exported here for existing callers.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any, TypeVar

from .readers import iter_records

__all__ = ["achunked", "chunked", "iter_records", "prepared_chunks"]

P = TypeVar("P")


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Split ``items`` into lists of at most ``size``, lazily."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def prepared_chunks(items: Iterable[Any], size: int, prepare: Callable[[list[Any]], P], *,
                    read_ahead: bool = True) -> Iterator[tuple[int, P]]:
    """:func:`chunked`, each chunk as ``(len(chunk), prepare(chunk))``.

    With ``read_ahead`` (the default) the chunks are read and prepared one
    ahead in a worker thread: while the caller sends a chunk and waits for
    the server, the next is read from ``items`` and encoded. ``items`` is
    read by that one thread, never two at once, and never more than one chunk
    ahead of the caller. An error reading or preparing a chunk is raised
    here, in the caller's thread, where that chunk would have been yielded.
    A caller that stops early closes the generator (``contextlib.closing``),
    which waits for the chunk being read: ``items`` that can block (a pipe, a
    queue) hold up the close until they yield. Without it, everything happens
    in the caller's thread, a chunk at a time."""
    chunks = chunked(items, size)

    def next_prepared() -> tuple[int, P] | None:
        chunk = next(chunks, None)
        return None if chunk is None else (len(chunk), prepare(chunk))

    if not read_ahead:
        yield from iter(next_prepared, None)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="discovery-wiring-reader") as reader:
        pending = reader.submit(next_prepared)
        while (prepared := pending.result()) is not None:
            pending = reader.submit(next_prepared)
            yield prepared


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

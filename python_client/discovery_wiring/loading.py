"""Chunking of record streams; :func:`iter_records` is :func:`readers.iter_records`.

Reading files (text encodings and delimiters, XLSX workbooks, JSON) lives in
:mod:`discovery_wiring.readers`; it is re-exported here for existing callers.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import Any

from .readers import iter_records

__all__ = ["achunked", "chunked", "iter_records"]


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

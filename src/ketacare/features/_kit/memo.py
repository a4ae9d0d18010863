"""Results computed from content, kept by a digest of that content.

For work a page would otherwise redo on every view although its input has not changed (the
clinic outcomes and their charts): the caller reads its input (cheap), takes its
:func:`digest`, and asks the :class:`ContentCache` for the result of that digest. Keyed by
content, never by time, a cached result is never stale: changed data has another digest.
Per process, bounded (least recently used first out), safe across threads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

__all__ = ["ContentCache", "digest"]

V = TypeVar("V")


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(f"nd:{value.dtype.str}:{value.shape}:".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"dc:{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            h.update(f"{f.name}=".encode())
            _feed(h, getattr(value, f.name))
        h.update(b")")
    elif isinstance(value, (list, tuple)):
        h.update(f"seq:{len(value)}[".encode())
        for item in value:
            _feed(h, item)
        h.update(b"]")
    else:
        h.update(f"{type(value).__qualname__}:{value!r};".encode())


def digest(*parts: Any) -> str:
    """A SHA-256 of ``parts``: numpy arrays by dtype, shape and bytes, dataclasses field by
    field, sequences item by item, anything else by its ``repr``."""
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


class ContentCache(Generic[V]):
    """A small LRU of results by content digest."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], V]) -> V:
        """The result kept for ``key``, else ``compute()`` kept (two threads asking for the
        same new key at once may both compute it; the results are equal)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._items.clear()

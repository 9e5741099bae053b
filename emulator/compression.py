"""Gateway transport compression: zlib-stream (one stream per connection) and zstd-stream.

discord.py asks for ``compress=zlib-stream`` (or zstd-stream when a zstd module is importable);
each message is flushed so it ends on a sync point the client can decode on its own.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from typing import Any


class Compressor:
    """Transport compression the client asked for in the query string."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self._zlib: Any = None
        self._zstd: Any = None
        if kind == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif kind == "zstd-stream":
            try:
                self._zstd = _zstd_compressor()
            except ImportError:
                # discord.py decodes text frames as plain JSON, so uncompressed still works.
                self.kind = None

    def encode(self, frame: str) -> str | bytes:
        data = frame.encode()
        if self._zlib is not None:
            return bytes(self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        if self._zstd is not None:
            return bytes(self._zstd(data))
        return frame


def _zstd_compressor() -> Callable[[bytes], bytes]:
    """A streaming zstd compressor flushing one frame block per message (stdlib or zstandard)."""
    try:
        module: Any = importlib.import_module("compression.zstd")
        compressor = module.ZstdCompressor()
        flush_block = module.ZstdCompressor.FLUSH_BLOCK
        return lambda data: compressor.compress(data) + compressor.flush(flush_block)
    except ImportError:
        module = importlib.import_module("zstandard")
        stream = module.ZstdCompressor().compressobj()
        flush_block = module.COMPRESSOBJ_FLUSH_BLOCK
        return lambda data: stream.compress(data) + stream.flush(flush_block)

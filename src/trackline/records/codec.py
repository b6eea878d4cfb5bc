"""Payload encoding for records: msgpack through msgspec.

msgspec was chosen by measurement (``benchmarks/codec.py``): encoding a 10-scalar
history record costs ~0.3 us, about 3x less than orjson plus framing of JSON
text, and msgpack keeps NaN/Inf, ints and bytes without special cases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

decode: Callable[[bytes], Any] = msgspec.msgpack.Decoder().decode


def make_encoder(enc_hook: Callable[[Any], Any] | None = None) -> Callable[[Any], bytes]:
    """An encode function; ``enc_hook`` converts values msgpack cannot hold (numpy, ...)."""
    return msgspec.msgpack.Encoder(enc_hook=enc_hook).encode


encode: Callable[[Any], bytes] = make_encoder()

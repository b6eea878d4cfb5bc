"""A Thrift compact-protocol *writer*: just enough to serialise Parquet's footer and page
headers (``parquet_file.py``) without the thrift package or pyarrow.

A struct is a list of ``(field id, type, value)`` triples in ascending field id order;
a ``None`` value leaves the field out (Thrift's optional). Values by type:

* ``BOOL``: a Python bool (stored in the field header itself, as the protocol does);
* ``I16``/``I32``/``I64``: an int (zigzag varint); Thrift enums are ``I32``;
* ``BINARY``: bytes, or a str (written as UTF-8);
* ``STRUCT``: a list of triples (a union is a struct with one field set), or the bytes
  :func:`encode_struct` made of one (written as they are);
* ``LIST``: ``(element type, items)``.

Nothing here is on the per-page path: page headers, written once per 2048 points, have
hand-built encoders in ``parquet_file.py`` that the tests compare with this writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Compact-protocol type ids (BOOL is the field-header id of True; False is 2).
BOOL = 1
BYTE = 3
I16 = 4
I32 = 5
I64 = 6
DOUBLE = 7
BINARY = 8
LIST = 9
STRUCT = 12

Field = tuple[int, int, Any]


def uvarint(n: int) -> bytes:
    """``n`` >= 0 as an unsigned LEB128 varint."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def zigzag(n: int) -> int:
    """Signed ``n`` (up to 64 bits) as the unsigned zigzag number Thrift and Parquet varint."""
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def encode_struct(fields: Iterable[Field]) -> bytes:
    out = bytearray()
    write_struct(out, fields)
    return bytes(out)


def write_struct(out: bytearray, fields: Iterable[Field]) -> None:
    last = 0
    for fid, ftype, value in fields:
        if value is None:
            continue
        if fid <= last:
            raise ValueError(f"thrift field ids must ascend: {fid} after {last}")
        wire = (BOOL if value else 2) if ftype == BOOL else ftype
        delta = fid - last
        if delta <= 15:
            out.append(delta << 4 | wire)
        else:
            out.append(wire)
            out += uvarint(zigzag(fid))
        last = fid
        if ftype != BOOL:
            _write_value(out, ftype, value)
    out.append(0)


def _write_value(out: bytearray, ftype: int, value: Any) -> None:
    if ftype in (I16, I32, I64):
        out += uvarint(zigzag(value))
    elif ftype == BINARY:
        data = value.encode() if isinstance(value, str) else bytes(value)
        out += uvarint(len(data))
        out += data
    elif ftype == STRUCT:
        if isinstance(value, bytes):
            out += value  # encoded already
        else:
            write_struct(out, value)
    elif ftype == LIST:
        etype, items = value
        _write_list(out, etype, items)
    elif ftype == BYTE:
        out.append(value & 0xFF)
    else:
        raise ValueError(f"unsupported thrift type {ftype}")


def _write_list(out: bytearray, etype: int, items: Sequence[Any]) -> None:
    if etype == BOOL:
        raise ValueError("lists of bool are not supported")
    n = len(items)
    if n < 15:
        out.append(n << 4 | etype)
    else:
        out.append(0xF0 | etype)
        out += uvarint(n)
    for item in items:
        _write_value(out, etype, item)

"""Just enough of the protobuf wire format to walk a message without materialising it.

Used to read an ONNX model's structure while skipping the bytes of its large
tensors, and to read small metadata protobufs (Keras' ``keras_metadata.pb``)
without the framework that defined them. Every length is checked against the
buffer, so a corrupt or hostile file ends in :class:`WireError`, never a hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


class Field(NamedTuple):
    number: int
    wire_type: int
    value: int  # the varint, or the payload's start for LENGTH/FIXED fields
    end: int  # the payload's end (LENGTH/FIXED) or the field's end (VARINT)
    field_start: int
    field_end: int


def read_varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireError(f"varint longer than 10 bytes at byte {pos}")


def fields(buf, start: int = 0, end: int | None = None) -> Iterator[Field]:
    """The fields of the message in ``buf[start:end]``, in file order."""
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        field_start = pos
        key, pos = read_varint(buf, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {field_start}")
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos, end)
            yield Field(number, wire_type, value, pos, field_start, pos)
            continue
        if wire_type == LENGTH:
            length, pos = read_varint(buf, pos, end)
            size = length
        elif wire_type == FIXED64:
            size = 8
        elif wire_type == FIXED32:
            size = 4
        else:
            raise WireError(f"unsupported wire type {wire_type} at byte {field_start}")
        if pos + size > end:
            raise WireError(
                f"field {number} at byte {field_start} runs past the end of its message"
            )
        yield Field(number, wire_type, pos, pos + size, field_start, pos + size)
        pos += size


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_field(number: int, payload: bytes | bytearray) -> bytes:
    return encode_varint(number << 3 | LENGTH) + encode_varint(len(payload)) + bytes(payload)


def string(buf, item: Field) -> str:
    return bytes(buf[item.value : item.end]).decode("utf-8", errors="replace")

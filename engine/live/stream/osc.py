"""OSC 1.0 messages and bundles (opensoundcontrol.org spec 1.0), written here because the format is small: a message
is an address string, a type-tag string and big-endian arguments, each padded to 4 bytes; a bundle is ``#bundle``, a
64-bit NTP time tag and size-prefixed elements. Types used: ``i`` int32, ``f`` float32, ``s`` string, ``T``/``F``.

``decode`` reads them back (the tests' receiver, and anyone checking a capture)."""

from __future__ import annotations

import struct
from collections.abc import Sequence

__all__ = ["IMMEDIATELY", "OscMessage", "bundle", "decode", "message"]

OscArg = int | float | str | bool
OscMessage = tuple[str, tuple[OscArg, ...]]
IMMEDIATELY = 1  # the OSC time tag meaning "now"


def _string(s: str) -> bytes:
    b = s.encode("utf-8") + b"\0"
    return b + b"\0" * (-len(b) % 4)


def message(address: str, args: Sequence[OscArg] = ()) -> bytes:
    """One OSC message. Python ints are int32, floats float32, bools T/F."""
    if not address.startswith("/"):
        raise ValueError(f"an OSC address starts with '/', got {address!r}")
    tags, data = [","], []
    for a in args:
        if isinstance(a, bool):
            tags.append("T" if a else "F")
        elif isinstance(a, int):
            tags.append("i")
            data.append(struct.pack(">i", a))
        elif isinstance(a, float):
            tags.append("f")
            data.append(struct.pack(">f", a))
        elif isinstance(a, str):
            tags.append("s")
            data.append(_string(a))
        else:
            raise TypeError(f"OSC argument of type {type(a).__name__} is not supported")
    return _string(address) + _string("".join(tags)) + b"".join(data)


def bundle(elements: Sequence[bytes], timetag: int = IMMEDIATELY) -> bytes:
    """A bundle of encoded messages (or bundles)."""
    return _string("#bundle") + struct.pack(">Q", timetag) + b"".join(struct.pack(">i", len(e)) + e
                                                                     for e in elements)


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode("utf-8"), end + 1 + (-(end + 1 - pos) % 4)


def _decode_message(data: bytes) -> OscMessage:
    address, pos = _read_string(data, 0)
    tags, pos = _read_string(data, pos)
    if not tags.startswith(","):
        raise ValueError(f"OSC message {address!r} has no type tags")
    args: list[OscArg] = []
    for t in tags[1:]:
        if t == "i":
            args.append(struct.unpack_from(">i", data, pos)[0])
            pos += 4
        elif t == "f":
            args.append(struct.unpack_from(">f", data, pos)[0])
            pos += 4
        elif t == "s":
            s, pos = _read_string(data, pos)
            args.append(s)
        elif t in "TF":
            args.append(t == "T")
        else:
            raise ValueError(f"OSC type tag {t!r} is not supported")
    return address, tuple(args)


def decode(packet: bytes) -> list[OscMessage]:
    """The messages of one packet (a message, or a bundle flattened in order)."""
    if not packet.startswith(b"#bundle\0"):
        return [_decode_message(packet)]
    out: list[OscMessage] = []
    pos = 16
    while pos < len(packet):
        (size,) = struct.unpack_from(">i", packet, pos)
        out.extend(decode(packet[pos + 4:pos + 4 + size]))
        pos += 4 + size
    return out

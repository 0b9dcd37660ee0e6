"""A tiny pcap reader (libpcap classic format) yielding UDP payloads."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113


def udp_payloads(path: str | Path) -> Iterator[bytes]:
    data = Path(path).read_bytes()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError("not a classic pcap file")
    linktype = struct.unpack_from(endian + "I", data, 20)[0]
    pos = 24
    while pos + 16 <= len(data):
        incl = struct.unpack_from(endian + "IIII", data, pos)[2]
        frame = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        if linktype == LINKTYPE_ETHERNET:
            ethertype, off = struct.unpack_from("!H", frame, 12)[0], 14
            if ethertype == 0x8100:  # VLAN tag
                ethertype, off = struct.unpack_from("!H", frame, 16)[0], 18
        elif linktype == LINKTYPE_LINUX_SLL:
            ethertype, off = struct.unpack_from("!H", frame, 14)[0], 16
        elif linktype == LINKTYPE_RAW:
            ethertype, off = 0x0800, 0
        else:
            raise ValueError(f"unsupported link type {linktype}")
        if ethertype != 0x0800 or frame[off] >> 4 != 4:
            continue
        ihl = (frame[off] & 0x0F) * 4
        if frame[off + 9] != 17:  # UDP
            continue
        udp = off + ihl
        length = struct.unpack_from("!H", frame, udp + 4)[0]
        yield frame[udp + 8 : udp + length]

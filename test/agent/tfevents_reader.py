#!/usr/bin/python3
"""An independent reader of TensorBoard event files, written from the format's description rather
than from agent/tensorboard.ts: TFRecord framing (u64 length, masked CRC32C of the length bytes,
data, masked CRC32C of the data, little-endian) and the Event / Summary / SessionLog protobufs
decoded field by field. Standard library only.

Usage: tfevents_reader.py DIR
Prints one JSON object: {"files": [{"name", "events": [{"wall_time", "step", "file_version"?,
"session_log"?, "scalars"?}], "torn_tail": bytes left after the last whole record}]}.
Exits 1 with a message on a CRC mismatch inside the file or a malformed protobuf.
"""

import json
import os
import struct
import sys


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(data):
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def records(blob, name):
    """Whole records, and the bytes of a torn tail (a record still being written)."""
    at = 0
    out = []
    while at + 12 <= len(blob):
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        if length_crc != masked(header):
            raise SystemExit(f"{name}: bad length CRC at byte {at}")
        end = at + 12 + length
        if end + 4 > len(blob):
            break
        data = blob[at + 12:end]
        (data_crc,) = struct.unpack("<I", blob[end:end + 4])
        if data_crc != masked(data):
            raise SystemExit(f"{name}: bad data CRC in the record at byte {at}")
        out.append(data)
        at = end + 4
    return out, len(blob) - at


def fields(message):
    """(field number, wire type, value) of a protobuf message; length-delimited values stay bytes."""
    at = 0

    def varint():
        nonlocal at
        result = shift = 0
        while True:
            if at >= len(message):
                raise SystemExit("truncated varint")
            byte = message[at]
            at += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    while at < len(message):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire == 1:
            yield number, wire, message[at:at + 8]
            at += 8
        elif wire == 2:
            size = varint()
            yield number, wire, message[at:at + size]
            at += size
        elif wire == 5:
            yield number, wire, message[at:at + 4]
            at += 4
        else:
            raise SystemExit(f"unsupported wire type {wire}")
    if at != len(message):
        raise SystemExit("a field runs past the end of its message")


def signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def event(data):
    # tensorflow/core/util/event.proto: wall_time 1 (double), step 2 (int64), file_version 3,
    # summary 5, session_log 7. summary.proto: Summary.value 1; Value.tag 1, Value.simple_value 2 (float).
    decoded = {"wall_time": 0.0, "step": 0}
    for number, wire, value in fields(data):
        if number == 1 and wire == 1:
            decoded["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            decoded["step"] = signed64(value)
        elif number == 3 and wire == 2:
            decoded["file_version"] = value.decode("utf-8")
        elif number == 5 and wire == 2:
            scalars = decoded.setdefault("scalars", {})
            for vnum, vwire, entry in fields(value):
                if vnum != 1 or vwire != 2:
                    continue
                tag, simple = None, None
                for enum, ewire, evalue in fields(entry):
                    if enum == 1 and ewire == 2:
                        tag = evalue.decode("utf-8")
                    elif enum == 2 and ewire == 5:
                        simple = struct.unpack("<f", evalue)[0]
                if tag is not None and simple is not None:
                    scalars[tag] = simple
        elif number == 7 and wire == 2:
            decoded["session_log"] = 0
            for snum, swire, svalue in fields(value):
                if snum == 1 and swire == 0:
                    decoded["session_log"] = svalue
    return decoded


def main():
    folder = sys.argv[1]
    # TensorBoard's rule for what an event file is, and the order it reads them in.
    names = sorted(name for name in os.listdir(folder) if "tfevents" in name)
    files = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as f:
            blob = f.read()
        whole, torn = records(blob, name)
        files.append({"name": name, "events": [event(r) for r in whole], "torn_tail": torn})
    print(json.dumps({"files": files}))


if __name__ == "__main__":
    main()

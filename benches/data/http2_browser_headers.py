"""Writes http2-browser-headers.bin: what a desktop browser sends first on
an HTTP/2 connection to a page it has visited before.

The client connection preface (RFC 9113 section 3.4), a SETTINGS frame and
a WINDOW_UPDATE frame as Chrome sends them, then one HEADERS frame
(END_STREAM | END_HEADERS | PRIORITY, stream 1) whose HPACK block (RFC
7541) carries 21 typical request fields, Huffman-coded and indexed into the
dynamic table as browsers do. Encoded once with Python's `hpack` 4.x; the
bytes are checked in, so the bench needs no Python.

Run: python3 benches/data/http2_browser_headers.py
"""

import os
import struct

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

FIELDS = [
    (":method", "GET"),
    (":authority", "www.example.com"),
    (":scheme", "https"),
    (":path", "/articles/2026/11/connection-multiplexing?utm_source=newsletter&ref=home"),
    ("cache-control", "max-age=0"),
    ("sec-ch-ua", '"Chromium";v="131", "Not_A Brand";v="24", "Google Chrome";v="131"'),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Linux"'),
    ("upgrade-insecure-requests", "1"),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    ),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-mode", "navigate"),
    ("sec-fetch-user", "?1"),
    ("sec-fetch-dest", "document"),
    ("referer", "https://www.example.com/"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-GB,en-US;q=0.9,en;q=0.8,de;q=0.7"),
    (
        "cookie",
        "session=7f3c9a1e4b2d8f6a0c5e9b3d1f7a2c4e; theme=dark; consent=analytics%3D0%2Cads%3D0; "
        "_ga=GA1.1.1234567890.1732400000",
    ),
    ("if-none-match", 'W/"5e1f-18c2b7a9d40"'),
    ("priority", "u=0, i"),
]


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def main():
    settings = b"".join(
        struct.pack(">HI", ident, value)
        for ident, value in [(1, 65536), (2, 0), (4, 6291456), (6, 262144)]
    )
    block = hpack.Encoder().encode(FIELDS, huffman=True)
    priority = struct.pack(">IB", 0x8000_0000, 255)  # exclusive on stream 0, weight 256
    data = (
        PREFACE
        + frame(0x4, 0, 0, settings)
        + frame(0x8, 0, 0, struct.pack(">I", 15663105))
        + frame(0x1, 0x1 | 0x4 | 0x20, 1, priority + block)
    )
    assert hpack.Decoder().decode(block) == FIELDS
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http2-browser-headers.bin")
    with open(path, "wb") as out:
        out.write(data)
    print(f"{path}: {len(data)} bytes, {len(FIELDS)} fields, HPACK block {len(block)} bytes")


if __name__ == "__main__":
    main()

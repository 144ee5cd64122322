#!/usr/bin/env python3
"""Small servers and clients for tests/interop/portshare.sh (std only).

Subcommands (a client's PORT is on 127.0.0.1, or is given as HOST:PORT;
every wait is bounded):

  free-ports N          print N distinct free TCP ports, one a line
  proxy-v1-server       serve PROXY v1 clients: parse the header line, read
                        the request head, answer "HTTP/1.0 200 OK" with the
                        body "src=IP:PORT" (the header's source); a
                        connection without a valid header gets "bad-header";
                        prints "listening on 127.0.0.1:PORT" once bound
  banner-server         a server-first server: writes "220 interop ready\\r\\n"
                        to each client as soon as it connects; prints
                        "listening on 127.0.0.1:PORT" once bound
  line-server PORT TEXT a server on 127.0.0.1:PORT (a fixed port) that
                        writes TEXT and a line end to each client, then
                        stops writing (daytime, RFC 867, does so) and reads
                        until the client closes; prints "listening on
                        127.0.0.1:PORT" once bound
  silent-client PORT    connect, send nothing, print what arrives within 5 s
                        (until a line end); prints "local=PORT" first and
                        "elapsed=MS" last
  garbage-client PORT   connect, send 256 random bytes, wait up to 5 s for
                        the server to close; prints "local=PORT" then
                        "closed-by-peer eof|reset after MS ms", "answered
                        BYTES" or "still-open"
  reset-client PORT     connect, send half a TLS record (its header promises
                        more than is sent), then reset the connection
                        (SO_LINGER 0); prints "local=PORT"
  proxy-v2-server       serve PROXY v2 clients: parse the binary header and
                        its TLVs (the SSL TLV's sub-TLVs too), check its
                        CRC32C, read the request head, answer
                        "HTTP/1.0 200 OK" with one "key=value" line per
                        fact (src, dst, authority, alpn, unique_id, crc32c
                        ok|bad|absent, ssl_client, ssl_version, ssl_cipher,
                        ...); prints "listening on 127.0.0.1:PORT" once bound
  bad-crc-client PORT   connect, send a PROXY v2 header whose CRC32C TLV is
                        wrong and an HTTP request, wait up to 5 s; prints
                        "local=PORT" then "closed-by-peer eof|reset" or
                        "answered BYTES" or "still-open"
  json-log FILE         check that every line of FILE is a JSON object with
                        an "event"; print one line per "connection" event:
                        "route=R sni=S alpn=A,B host=H outcome=O" (a
                        missing field as "-"), or "bad-line N: WHY" and
                        exit 1
"""

import json
import os
import socket
import struct
import sys
import threading
import time

HOST = "127.0.0.1"
TIMEOUT = 5.0  # seconds, for every client read
BANNER = b"220 interop ready\r\n"


def free_ports(count):
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind((HOST, 0))
        sockets.append(s)
    for s in sockets:
        print(s.getsockname()[1])
        s.close()


def listen(port=0):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, port))
    server.listen(64)
    print("listening on %s:%d" % server.getsockname(), flush=True)
    return server


def serve(handle, port=0):
    server = listen(port)
    while True:
        conn, _ = server.accept()
        conn.settimeout(TIMEOUT)
        threading.Thread(target=handle_and_close, args=(handle, conn), daemon=True).start()


def handle_and_close(handle, conn):
    try:
        handle(conn)
    except OSError as error:
        print("connection error: %s" % error, flush=True)
    finally:
        conn.close()


def read_until(conn, end, limit=8192):
    data = b""
    while end not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def proxy_v1(conn):
    # PROXY v1 (HAProxy's proxy-protocol.txt, section 2.1):
    # "PROXY TCP4 SRC DST SPORT DPORT\r\n", at most 107 bytes.
    data = read_until(conn, b"\r\n", 107)
    line, _, rest = data.partition(b"\r\n")
    fields = line.split(b" ")
    if len(fields) != 6 or fields[0] != b"PROXY" or fields[1] not in (b"TCP4", b"TCP6"):
        print("bad header %r" % data[:120], flush=True)
        conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nbad-header")
        return
    source = "%s:%s" % (fields[2].decode(), fields[4].decode())
    print("header %r" % line, flush=True)
    if b"\r\n\r\n" not in rest:
        read_until(conn, b"\r\n\r\n")
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsrc=" + source.encode())


# PROXY v2 (HAProxy's proxy-protocol.txt, section 2.2).
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
TLV_NAMES = {0x01: "alpn", 0x02: "authority", 0x05: "unique_id", 0x30: "netns"}
SSL_SUB_TLV_NAMES = {
    0x21: "ssl_version",
    0x22: "ssl_cn",
    0x23: "ssl_cipher",
    0x24: "ssl_sig_alg",
    0x25: "ssl_key_alg",
}
CRC32C_TLV = 0x03
SSL_TLV = 0x20


def crc32c_table():
    # CRC-32C (Castagnoli), reflected polynomial 0x82F63B78.
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC32C_TABLE = crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283, "the CRC-32C check value"


def tlvs(data):
    """(offset, type, value) for each TLV in data; stops at a short one."""
    offset = 0
    while offset + 3 <= len(data):
        kind, length = data[offset], struct.unpack("!H", data[offset + 1 : offset + 3])[0]
        value = data[offset + 3 : offset + 3 + length]
        if len(value) < length:
            return
        yield offset, kind, value
        offset += 3 + length


def v2_header(source, destination, tlv_bytes=b""):
    """A PROXY v2 header, TCP over IPv4, from and to (ip, port) pairs."""
    addresses = socket.inet_aton(source[0]) + socket.inet_aton(destination[0])
    addresses += struct.pack("!HH", source[1], destination[1])
    body = addresses + tlv_bytes
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def with_crc32c(header, corrupt=False):
    """header with a CRC32C TLV appended and its value computed (spec
    section 2.2.3: over the whole header, the value zeroed); corrupt flips
    one bit of it."""
    header = header + bytes([CRC32C_TLV, 0, 4, 0, 0, 0, 0])
    length = struct.unpack("!H", header[14:16])[0] + 7
    header = header[:14] + struct.pack("!H", length) + header[16:]
    value = crc32c(header) ^ (1 if corrupt else 0)
    return header[:-4] + struct.pack("!I", value)


def proxy_v2(conn):
    head = b""
    while len(head) < 16:
        chunk = conn.recv(16 - len(head))
        if not chunk:
            return
        head += chunk
    if head[:12] != V2_SIGNATURE or head[12] >> 4 != 2:
        conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\nbad-header")
        return
    length = struct.unpack("!H", head[14:16])[0]
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            return
        body += chunk
    facts = []
    family = head[13] >> 4
    if family == 1:
        src, dst = socket.inet_ntoa(body[0:4]), socket.inet_ntoa(body[4:8])
        sport, dport = struct.unpack("!HH", body[8:12])
        facts += ["src=%s:%d" % (src, sport), "dst=%s:%d" % (dst, dport)]
        rest, rest_at = body[12:], 16 + 12
    elif family == 2:
        src = socket.inet_ntop(socket.AF_INET6, body[0:16])
        dst = socket.inet_ntop(socket.AF_INET6, body[16:32])
        sport, dport = struct.unpack("!HH", body[32:36])
        facts += ["src=[%s]:%d" % (src, sport), "dst=[%s]:%d" % (dst, dport)]
        rest, rest_at = body[36:], 16 + 36
    else:
        rest, rest_at = b"", 16 + length
    crc = "absent"
    whole = head + body
    for offset, kind, value in tlvs(rest):
        if kind == CRC32C_TLV:
            at = rest_at + offset + 3
            zeroed = whole[:at] + b"\0\0\0\0" + whole[at + 4 :]
            crc = "ok" if crc32c(zeroed) == struct.unpack("!I", value)[0] else "bad"
        elif kind == SSL_TLV:
            facts.append("ssl_client=%d" % value[0])
            facts.append("ssl_verify=%d" % struct.unpack("!I", value[1:5])[0])
            for _, sub, sub_value in tlvs(value[5:]):
                name = SSL_SUB_TLV_NAMES.get(sub, "ssl_0x%02x" % sub)
                facts.append("%s=%s" % (name, sub_value.decode("latin-1")))
        else:
            name = TLV_NAMES.get(kind, "tlv_0x%02x" % kind)
            facts.append("%s=%s" % (name, value.decode("latin-1")))
    facts.append("crc32c=%s" % crc)
    print("header %s" % " ".join(facts), flush=True)
    read_until(conn, b"\r\n\r\n")
    reply = "\n".join(facts) + "\n"
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + reply.encode())


def bad_crc_client(port):
    header = with_crc32c(v2_header(("192.0.2.7", 40000), ("192.0.2.1", 80)), corrupt=True)
    send_and_report_close(port, header + b"GET / HTTP/1.0\r\nHost: interop\r\n\r\n")


def banner(conn):
    conn.sendall(BANNER)
    read_until(conn, b"\n")


def line_server(text):
    def handle(conn):
        conn.sendall(text.encode() + b"\r\n")
        conn.shutdown(socket.SHUT_WR)
        # Closing with unread bytes would reset the connection, and the
        # client could lose the line: read until it closes.
        while conn.recv(4096):
            pass

    return handle


def connect(address):
    """A connection to "HOST:PORT", or to PORT on HOST."""
    host, _, port = address.rpartition(":")
    s = socket.create_connection((host or HOST, int(port)), timeout=TIMEOUT)
    print("local=%d" % s.getsockname()[1], flush=True)
    return s


def silent_client(address):
    s = connect(address)
    start = time.monotonic()
    try:
        data = read_until(s, b"\n")
    except socket.timeout:
        data = b""
    print("received %r" % data.decode("latin-1"), flush=True)
    print("elapsed=%d" % ((time.monotonic() - start) * 1000), flush=True)
    s.close()


def garbage_client(port):
    # A first byte of 0x80 or more: none of the protocols routed on the
    # port (text commands, TLS's 0x16, HTTP/2's "PRI") starts that way,
    # so the verdict cannot depend on luck.
    send_and_report_close(port, bytes([0x80 | os.urandom(1)[0]]) + os.urandom(255))


def send_and_report_close(port, data):
    """Connects, sends data, and reads until the server closes (or TIMEOUT
    passes); prints what came back, or how and when it closed."""
    s = connect(port)
    start = time.monotonic()
    answer = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                how = "eof"
                break
            answer += chunk
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        print("still-open after %d ms" % (TIMEOUT * 1000), flush=True)
        return
    finally:
        s.close()
    if answer:
        print("answered %r" % answer[:200], flush=True)
    else:
        ms = (time.monotonic() - start) * 1000
        print("closed-by-peer %s after %d ms" % (how, ms), flush=True)


def reset_client(port):
    # A TLS handshake record (RFC 8446, section 5.1) whose header announces
    # 512 bytes, followed by only the start of a ClientHello.
    record = b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03\x03" + os.urandom(32)
    s = connect(port)
    s.sendall(record)
    time.sleep(0.2)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("reset after %d bytes" % len(record), flush=True)


def json_log(path):
    """Checks each line of a --log-format json log; prints the connections."""
    with open(path, encoding="utf-8") as log:
        lines = log.read().splitlines()
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError as error:
            print("bad-line %d: %s: %r" % (number, error, line[:200]))
            sys.exit(1)
        if not isinstance(record, dict) or "event" not in record:
            print("bad-line %d: not an object with an event: %r" % (number, line[:200]))
            sys.exit(1)
        if record["event"] != "connection":
            continue
        alpn = record.get("alpn")
        if alpn is not None and not (
            isinstance(alpn, list) and all(isinstance(p, str) for p in alpn)
        ):
            print("bad-line %d: alpn is not a list of strings: %r" % (number, alpn))
            sys.exit(1)
        fields = [
            ("route", record.get("route")),
            ("sni", record.get("sni")),
            ("alpn", ",".join(alpn) if alpn else None),
            ("host", record.get("host")),
            ("outcome", record.get("outcome")),
        ]
        print(" ".join("%s=%s" % (key, "-" if value is None else value) for key, value in fields))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "free-ports":
        free_ports(int(arguments[0]))
    elif command == "proxy-v1-server":
        serve(proxy_v1)
    elif command == "proxy-v2-server":
        serve(proxy_v2)
    elif command == "bad-crc-client":
        bad_crc_client(arguments[0])
    elif command == "banner-server":
        serve(banner)
    elif command == "line-server":
        serve(line_server(arguments[1]), int(arguments[0]))
    elif command == "silent-client":
        silent_client(arguments[0])
    elif command == "garbage-client":
        garbage_client(arguments[0])
    elif command == "reset-client":
        reset_client(arguments[0])
    elif command == "json-log":
        json_log(arguments[0])
    else:
        sys.exit("unknown subcommand %r\n%s" % (command, __doc__))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Small servers and clients for tests/interop/portshare.sh (std only).

Subcommands (PORT is on 127.0.0.1; every wait is bounded):

  free-ports N          print N distinct free TCP ports, one a line
  proxy-v1-server       serve PROXY v1 clients: parse the header line, read
                        the request head, answer "HTTP/1.0 200 OK" with the
                        body "src=IP:PORT" (the header's source); a
                        connection without a valid header gets "bad-header";
                        prints "listening on 127.0.0.1:PORT" once bound
  banner-server         a server-first server: writes "220 interop ready\\r\\n"
                        to each client as soon as it connects; prints
                        "listening on 127.0.0.1:PORT" once bound
  silent-client PORT    connect, send nothing, print what arrives within 5 s
                        (until a line end); prints "local=PORT" first
  garbage-client PORT   connect, send 256 random bytes, wait up to 5 s for
                        the server to close; prints "local=PORT" then
                        "closed-by-peer eof|reset after MS ms" or "still-open"
  reset-client PORT     connect, send half a TLS record (its header promises
                        more than is sent), then reset the connection
                        (SO_LINGER 0); prints "local=PORT"
"""

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


def listen():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((HOST, 0))
    server.listen(64)
    print("listening on %s:%d" % server.getsockname(), flush=True)
    return server


def serve(handle):
    server = listen()
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


def banner(conn):
    conn.sendall(BANNER)
    read_until(conn, b"\n")


def connect(port):
    s = socket.create_connection((HOST, port), timeout=TIMEOUT)
    print("local=%d" % s.getsockname()[1], flush=True)
    return s


def silent_client(port):
    s = connect(port)
    try:
        data = read_until(s, b"\n")
    except socket.timeout:
        data = b""
    print("received %r" % data.decode("latin-1"), flush=True)
    s.close()


def garbage_client(port):
    # A first byte of 0x80 or more: none of the protocols routed on the
    # port (text commands, TLS's 0x16, HTTP/2's "PRI") starts that way,
    # so the verdict cannot depend on luck.
    data = bytes([0x80 | os.urandom(1)[0]]) + os.urandom(255)
    s = connect(port)
    start = time.monotonic()
    try:
        s.sendall(data)
        while True:
            if not s.recv(4096):
                how = "eof"
                break
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        print("still-open after %d ms" % (TIMEOUT * 1000), flush=True)
        return
    finally:
        s.close()
    print("closed-by-peer %s after %d ms" % (how, (time.monotonic() - start) * 1000), flush=True)


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


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "free-ports":
        free_ports(int(arguments[0]))
    elif command == "proxy-v1-server":
        serve(proxy_v1)
    elif command == "banner-server":
        serve(banner)
    elif command == "silent-client":
        silent_client(int(arguments[0]))
    elif command == "garbage-client":
        garbage_client(int(arguments[0]))
    elif command == "reset-client":
        reset_client(int(arguments[0]))
    else:
        sys.exit("unknown subcommand %r\n%s" % (command, __doc__))


if __name__ == "__main__":
    main()

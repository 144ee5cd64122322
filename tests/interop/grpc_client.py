#!/usr/bin/env python3
"""A real grpcio client for connmux's gRPC interop test (tests/grpc_interop.rs).

Makes one call of each kind to the `connmux.Test` service of
grpc_server.py at ADDRESS (host:port), checks each answer, prints one line
per call, and exits non-zero on the first mismatch or failed call.

Usage: grpc_client.py ADDRESS
"""

import sys

import grpc

SERVICE = "/connmux.Test/"
TIMEOUT = 10  # seconds, for the connection and for each call

# Larger than HTTP/2's initial 64 KiB flow-control window: the call only
# completes if WINDOW_UPDATE frames get through the multiplexer both ways.
BIG = bytes(range(256)) * 1024


def check(what, got, want):
    if got != want:
        print("MISMATCH %s: got %r, want %r" % (what, got[:80], want[:80]), flush=True)
        sys.exit(1)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: grpc_client.py HOST:PORT")
    address = sys.argv[1]
    # No proxy from the environment: the test talks to the multiplexer.
    channel = grpc.insecure_channel(address, options=[("grpc.enable_http_proxy", 0)])
    try:
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)

        ping = channel.unary_unary(SERVICE + "Ping")
        answer = ping(b"hello", timeout=TIMEOUT)
        check("Ping", answer, b"pong:hello")
        print("unary Ping(hello) -> %s" % answer.decode(), flush=True)

        answer = ping(BIG, timeout=TIMEOUT)
        check("Ping(big)", answer, b"pong:" + BIG)
        print("unary Ping(%d bytes) -> %d bytes, intact" % (len(BIG), len(answer)), flush=True)

        count = channel.unary_stream(SERVICE + "Count")
        answers = list(count(b"5", timeout=TIMEOUT))
        check("Count", answers, [b"count:%d" % i for i in range(5)])
        print("server-streaming Count(5) -> %s" % " ".join(a.decode() for a in answers), flush=True)

        total = channel.stream_unary(SERVICE + "Sum")
        answer = total(iter(b"%d" % i for i in range(1, 11)), timeout=TIMEOUT)
        check("Sum", answer, b"55")
        print("client-streaming Sum(1..10) -> %s" % answer.decode(), flush=True)

        echo = channel.stream_stream(SERVICE + "Echo")
        words = [b"alpha", b"beta", b"gamma"]
        answers = list(echo(iter(words), timeout=TIMEOUT))
        check("Echo", answers, [b"echo:" + w for w in words])
        print("bidi Echo(alpha beta gamma) -> %s" % " ".join(a.decode() for a in answers), flush=True)
    except grpc.FutureTimeoutError:
        print("FAILED: no connection to %s within %d s" % (address, TIMEOUT), flush=True)
        sys.exit(1)
    except grpc.RpcError as error:
        print("FAILED: %s: %s" % (error.code(), error.details()), flush=True)
        sys.exit(1)
    finally:
        channel.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A real grpcio server for connmux's gRPC interop test (tests/grpc_interop.rs).

Serves four methods of the service `connmux.Test` through a generic handler
on raw bytes, so no .proto file or protoc is needed:

  /connmux.Test/Ping   unary             b"pong:" + request
  /connmux.Test/Count  server streaming  request is N (ASCII); b"count:0" .. b"count:N-1"
  /connmux.Test/Sum    client streaming  requests are integers (ASCII); their sum
  /connmux.Test/Echo   bidi streaming    b"echo:" + each request, as it arrives

Usage: grpc_server.py [--exit-on-stdin-eof] [PORT]   (PORT 0, the default: any free port)
Listens on 127.0.0.1 only and prints "listening on 127.0.0.1:PORT" once
bound; runs until killed, or with --exit-on-stdin-eof until its standard
input closes (so that it never outlives a test that holds the other end,
however the test ends).
"""

import argparse
import sys
import threading
from concurrent import futures

import grpc

SERVICE = "connmux.Test"


def ping(request, context):
    return b"pong:" + request


def count(request, context):
    for i in range(int(request)):
        yield b"count:%d" % i


def total(request_iterator, context):
    return b"%d" % sum(int(request) for request in request_iterator)


def echo(request_iterator, context):
    for request in request_iterator:
        yield b"echo:" + request


def main():
    arguments = argparse.ArgumentParser(description="grpcio test server for connmux")
    arguments.add_argument("port", nargs="?", type=int, default=0)
    arguments.add_argument("--exit-on-stdin-eof", action="store_true")
    options = arguments.parse_args()
    port = options.port
    # Raw bytes in and out: None serializers pass the message bytes through.
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Ping": grpc.unary_unary_rpc_method_handler(ping),
            "Count": grpc.unary_stream_rpc_method_handler(count),
            "Sum": grpc.stream_unary_rpc_method_handler(total),
            "Echo": grpc.stream_stream_rpc_method_handler(echo),
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    bound = server.add_insecure_port("127.0.0.1:%d" % port)
    if bound == 0:
        sys.exit("grpc_server.py: could not bind 127.0.0.1:%d" % port)
    server.start()
    print("listening on 127.0.0.1:%d" % bound, flush=True)

    if options.exit_on_stdin_eof:

        def stop_when_stdin_closes():
            sys.stdin.read()
            server.stop(grace=None)

        threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()

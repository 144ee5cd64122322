#!/bin/sh
# gRPC interop with real software: a Python grpcio client and server talk
# through connmux's grpc().send_settings() route (tests/grpc_interop.rs,
# which is #[ignore]d because it needs what this script installs: Python's
# grpcio, and curl for the plain HTTP/2 check). PYTHON picks the
# interpreter (default python3).
set -eu
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
export PYTHON

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null
        apt_updated=yes
    fi
    apt-get install -y -qq "$@" >/dev/null
}

command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3
if ! "$PYTHON" -c 'import grpc' 2>/dev/null; then
    "$PYTHON" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    # A Debian system Python refuses pip installs unless told otherwise
    # (PEP 668); a virtualenv or pyenv Python takes the first form.
    "$PYTHON" -m pip install --quiet grpcio ||
        "$PYTHON" -m pip install --quiet --break-system-packages grpcio
fi
command -v curl >/dev/null 2>&1 || apt_install curl

echo "gRPC interop: $("$PYTHON" --version 2>&1), grpcio $("$PYTHON" -c 'import grpc; print(grpc.__version__)'), $(curl --version | head -n 1 | cut -d ' ' -f 1-2)"
exec cargo test --test grpc_interop -- --ignored --nocapture

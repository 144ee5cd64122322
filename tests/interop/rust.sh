#!/bin/sh
# connmux with the Rust libraries its users pair it with: the test crate
# in tests/interop/rust/ (rustls, tungstenite, ureq from the registry; not
# part of the connmux package or workspace) and curl as a real client of
# the TLS-nested multiplexer. Installs curl if it is missing.
set -eu
cd "$(dirname "$0")/rust"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
if ! command -v curl >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y curl >/dev/null
fi
cargo test --quiet

#!/usr/bin/env python3
"""Checks portshare's /metrics with the Prometheus project's own parser.

    prometheus_check.py URL [--expect 'NAME{LABEL="VALUE",...}=VALUE' ...]
                            [--expect 'NAME{...}>=VALUE' ...]
                            [--family NAME ...] [--timeout SECONDS]

Fetches URL, checks its Content-Type is the text format's (version 0.0.4),
parses the body with prometheus_client.parser.text_string_to_metric_families
(every family must parse, with the type portshare declares), checks that
every portshare family is there (or those given with --family), and that
each --expect sample exists with that value. The sample name is the one on
the wire (portshare_connections_total, ..._bucket); its labels must all
match, and others may be present, and exactly one sample may match.
VALUE is a number or +Inf; with '>=' the value must be at least that (for
counters other clients may bump).

Prints "ok" or one line per failure, and exits 0 or 1 (2 for bad usage, or
prometheus_client missing).

Needs prometheus_client from PyPI. tests/interop/portshare.sh installs it
as it does grpcio, into whatever "$PYTHON" is:

    "$PYTHON" -m pip install --quiet prometheus_client ||
        "$PYTHON" -m pip install --quiet --break-system-packages prometheus_client

(the second form for a Debian system Python, which refuses pip installs
otherwise: PEP 668); or in a virtualenv:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install prometheus_client
    /tmp/venv/bin/python tests/interop/prometheus_check.py http://127.0.0.1:9100/metrics
"""

import argparse
import math
import re
import sys
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.stderr.write(
        "prometheus_check.py: needs prometheus_client "
        "(python3 -m pip install prometheus_client)\n"
    )
    sys.exit(2)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The families portshare exposes, by the name prometheus_client gives them
# (a counter's without "_total"), and their types.
FAMILIES = {
    "portshare_connections": "counter",
    "portshare_bytes": "counter",
    "portshare_open_connections": "gauge",
    "portshare_dropped": "counter",
    "portshare_dropped_bytes": "counter",
    "portshare_refused": "counter",
    "portshare_sniff_duration_seconds": "histogram",
    "portshare_reloads": "counter",
    "portshare_start_time_seconds": "gauge",
}

EXPECT = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?(>=|=)(\S+)$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_labels(text):
    """{a="x",b="y"} as a dict, the text format's escapes undone."""
    labels = {}
    inner = text[1:-1]
    at = 0
    while at < len(inner):
        match = LABEL.match(inner, at)
        if not match:
            raise ValueError(f"bad labels {text}")
        value = re.sub(
            r"\\(.)",
            lambda m: {"n": "\n", "\\": "\\", '"': '"'}.get(m.group(1), m.group(0)),
            match.group(2),
        )
        labels[match.group(1)] = value
        at = match.end()
    return labels


def parse_expect(text):
    match = EXPECT.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected NAME{{LABELS}}=VALUE or >=VALUE, got {text!r}"
        )
    name, labels, operator, value = match.groups()
    try:
        number = float(value)  # "+Inf" parses too
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}")
    return name, parse_labels(labels) if labels else {}, operator == ">=", number, text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[], type=parse_expect)
    parser.add_argument("--family", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()

    failures = []
    with urllib.request.urlopen(args.url, timeout=args.timeout) as response:
        status = response.status
        content_type = response.headers.get("Content-Type")
        body = response.read().decode("utf-8")
    if status != 200:
        failures.append(f"status {status}")
    if content_type != CONTENT_TYPE:
        failures.append(f"Content-Type {content_type!r}, not {CONTENT_TYPE!r}")

    try:
        families = list(text_string_to_metric_families(body))
    except Exception as error:  # the parser raises ValueError and others
        print(f"FAIL: the text does not parse: {error!r}")
        return 1
    by_name = {family.name: family for family in families}
    if len(by_name) != len(families):
        failures.append("a family appears twice")

    wanted = {name: None for name in args.family} if args.family else FAMILIES
    for name, kind in wanted.items():
        family = by_name.get(name)
        if family is None:
            failures.append(f"no family {name}")
        elif kind is not None and family.type != kind:
            failures.append(f"{name} is a {family.type}, not a {kind}")

    samples = [sample for family in families for sample in family.samples]
    for family in families:
        if family.type == "histogram":
            failures.extend(check_histogram(family))

    for name, labels, at_least, value, text in args.expect:
        found = [
            sample
            for sample in samples
            if sample.name == name
            and all(sample.labels.get(k) == v for k, v in labels.items())
        ]
        if not found:
            failures.append(f"no sample {text}")
        elif len(found) > 1:
            failures.append(f"{len(found)} samples match {text}: be more specific")
        elif not matches(found[0].value, value, at_least):
            failures.append(f"{text}: the value is {found[0].value}")

    for failure in failures:
        print(f"FAIL: {failure}")
    if failures:
        return 1
    print(f"ok ({len(families)} families, {len(samples)} samples)")
    return 0


def matches(actual, expected, at_least):
    if at_least:
        return actual >= expected
    if math.isinf(expected):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)


def check_histogram(family):
    """Each series' buckets ascend and are cumulative, end in +Inf, and
    that bucket equals _count."""
    failures = []
    series = {}
    for sample in family.samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        key = tuple(sorted(labels.items()))
        entry = series.setdefault(key, {"buckets": [], "count": None})
        if sample.name.endswith("_bucket"):
            entry["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            entry["count"] = sample.value
    for key, entry in series.items():
        buckets = entry["buckets"]
        if not buckets or buckets[-1][0] != math.inf:
            failures.append(f"{family.name}{dict(key)}: no +Inf bucket")
            continue
        for (bound_a, count_a), (bound_b, count_b) in zip(buckets, buckets[1:]):
            if not (bound_a < bound_b and count_a <= count_b):
                failures.append(f"{family.name}{dict(key)}: buckets not cumulative")
                break
        if entry["count"] != buckets[-1][1]:
            failures.append(f"{family.name}{dict(key)}: _count != the +Inf bucket")
    return failures


if __name__ == "__main__":
    sys.exit(main())

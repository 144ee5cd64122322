#!/bin/sh
# Runs a fuzz campaign per cargo-fuzz target and prints its figures.
#
#   fuzz/run.sh [-t SECONDS] [-j JOBS] [TARGET...]
#
# -t  how long each target runs (default 1800: 30 minutes)
# -j  how many targets run at once (default 1; one core each)
# TARGET  the targets to run (default: every one `cargo fuzz list` names)
#
# Installs what it needs: the nightly toolchain (cargo-fuzz builds with
# sanitizer flags only nightly accepts) and cargo-fuzz itself, from the
# registry. Each campaign starts from the seeds (tests/corpus/<target>,
# which fuzz/corpus links to) and writes what it finds to its own corpus
# under fuzz/campaigns/<target>/ (not committed), so the seeds never fill
# with thousands of inputs. At the end the campaign's corpus is minimised
# (`cargo fuzz cmin`), and the inputs that reach edges the seeds do not
# are merged into tests/corpus/<target> as fuzzed-<hash> (libFuzzer's
# -merge=1, which keeps the seeds' names: tests include some by name). Findings
# (crash-*, timeout-*, oom-*, leak-*) land in fuzz/artifacts/<target>/.
#
# Targets are built with -O -a -s none: optimised, with overflow checks and
# debug assertions, without AddressSanitizer. The library forbids unsafe
# code, so ASan has nothing to find in it, and it made the harnesses about
# three times slower (measured 2026-12-06, SECURITY.md).
#
# For each target it prints one line: executions, executions a second,
# coverage (edges, features), corpus size, inputs merged into the seeds,
# findings. On a shared machine, run it under `nice -n 10`.
set -eu
cd "$(dirname "$0")"
here=$(pwd)

seconds=1800
jobs=1
while getopts t:j: option; do
    case $option in
    t) seconds=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) sed -n 4,8p "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

if [ $# -eq 0 ]; then
    set -- $(cargo +nightly fuzz list)
fi

flags="-O -a -s none"
# Builds every target at once (cargo fuzz build takes one target or all).
# shellcheck disable=SC2086 # $flags is several options
cargo +nightly fuzz build $flags

# One campaign: fuzz, minimise, merge into the seeds, report.
campaign() {
    target=$1
    work=$here/campaigns/$target
    seeds=$here/corpus/$target
    rm -rf "$work"
    mkdir -p "$work/corpus" "artifacts/$target"
    findings_before=$(ls "artifacts/$target" | wc -l)
    # The fuzzer writes new inputs to the first corpus directory only.
    status=0
    # A unit slower than 60 s is a finding (a timeout-* artifact); less
    # would report a loaded machine's stalls.
    cargo +nightly fuzz run $flags "$target" "$work/corpus" "$seeds" -- \
        -max_total_time="$seconds" -timeout=60 -print_final_stats=1 \
        >"$work/log" 2>&1 || status=$?
    cargo +nightly fuzz cmin $flags "$target" "$work/corpus" >"$work/cmin.log" 2>&1 ||
        echo "$target: cmin failed, see $work/cmin.log" >&2
    seeds_before=$(ls "$seeds" | wc -l)
    # Edges only (-use_counters=0): the seeds gain the tens of inputs that
    # reach new code, not the hundreds that only reach it more often.
    cargo +nightly fuzz run $flags "$target" "$seeds" "$work/corpus" -- \
        -merge=1 -use_counters=0 >"$work/merge.log" 2>&1 ||
        echo "$target: merge failed, see $work/merge.log" >&2
    for input in "$seeds"/*; do
        name=$(basename "$input")
        if expr "$name" : '[0-9a-f]\{40\}$' >/dev/null; then
            mv "$input" "$seeds/fuzzed-$(echo "$name" | cut -c1-12)"
        fi
    done
    merged=$(($(ls "$seeds" | wc -l) - seeds_before))
    findings=$(($(ls "artifacts/$target" | wc -l) - findings_before))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
    coverage=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -n 1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/edges \1, features \2, corpus \3/')
    echo "$target: ${runs:-?} executions, ${per_second:-?}/s, $coverage," \
        "cmin $(ls "$work/corpus" | wc -l) inputs, $merged merged into the seeds," \
        "$findings findings (exit $status; log $work/log)"
}

running=0
for target in "$@"; do
    campaign "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

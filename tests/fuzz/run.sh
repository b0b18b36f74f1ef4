#!/bin/sh
# Runs each libFuzzer harness for SECONDS seconds from the seed corpus,
# after replaying every regression input (tests/regressions) once.
#
#   CC=clang cmake -S . -B build-fuzz -DSYSMAP_FUZZ=ON -DSYSMAP_BUILD_TESTS=OFF
#   cmake --build build-fuzz --target fuzz_hdf5 fuzz_fits
#   tests/fuzz/run.sh 120 [BUILD_DIR]
#
# FUZZ_SEED=N fixes libFuzzer's seed and FUZZ_RUNS=K replaces the time
# limit by K inputs per harness: the same exploration every time (CI; a
# random one can fail a change for a bug it did not add).
#
# Exit status 0 when nothing was found; otherwise the first failing
# harness's, with the input that failed under $FUZZ_OUT (default
# BUILD_DIR/fuzz-out/<harness>/). Inputs found interesting are kept in
# $FUZZ_OUT/<harness>/corpus (the committed seeds are never modified).
set -eu
SECONDS_EACH=${1:?usage: run.sh SECONDS [BUILD_DIR]}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${2:-$ROOT/build-fuzz}
OUT=${FUZZ_OUT:-$BUILD/fuzz-out}
# A hang is an input that takes more than 10 s; 2 GB bounds memory (a
# file of a few kB must never make the loader ask for more).
OPTS="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$HERE/lsan.supp}

for h in hdf5 fits; do
    exe=$BUILD/tests/fuzz/fuzz_$h
    [ -x "$exe" ] || { echo "run.sh: $exe missing; build target fuzz_$h" >&2; exit 2; }
    dir=$OUT/$h
    mkdir -p "$dir/corpus"
    regressions=$(find "$ROOT/tests/regressions/$h" -type f ! -name '*.py' ! -name '*.md' | sort)
    if [ "$h" = fits ]; then # the regression FITS inputs are made by scripts
        for gen in "$ROOT"/tests/regressions/fits/*.py; do
            python3 "$gen" "$dir/$(basename "$gen" .py).fits"
            regressions="$regressions $dir/$(basename "$gen" .py).fits"
        done
    fi
    echo "== fuzz_$h: regression inputs"
    # shellcheck disable=SC2086
    "$exe" $OPTS -artifact_prefix="$dir/" $regressions
    limit="-max_total_time=$SECONDS_EACH"
    [ -z "${FUZZ_RUNS:-}" ] || limit="-runs=$FUZZ_RUNS"
    [ -z "${FUZZ_SEED:-}" ] || limit="$limit -seed=$FUZZ_SEED"
    echo "== fuzz_$h: $limit from the seeds"
    # shellcheck disable=SC2086
    "$exe" $OPTS $limit -artifact_prefix="$dir/" "$dir/corpus" "$HERE/seeds/$h"
done

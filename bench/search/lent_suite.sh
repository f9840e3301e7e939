#!/bin/sh
# bench/search/lent_suite.sh - a part of the suite comparison (bench/search/suite.py) on the CPUs
# of a lent machine (the device tool), which has none of our Debian packages: the binary (built
# here with ARCH=-march=x86-64-v3, so it runs on any AVX2 machine), the shared libraries it links
# and the suite data travel packed in .devpack/pack.tar.xz; see docs/RESULTS.md for how it is made.
#
#   run: sh bench/search/lent_suite.sh      (carry .devpack; rows come back in $OUT/suite.tsv)
#
# Environment: LIMIT (seconds for the whole suite, default 540), and suite.py's TASKS, SEEDS,
# BUDGETS, METHODS, JOBS (default: one per core), THREADS (default 1).
set -u
OUT=${OUT:?OUT: a folder for the results}
PK=/tmp/bipeft-pack
mkdir -p "$PK" bin data/suite || exit 1
tar -C "$PK" -xJf .devpack/pack.tar.xz || exit 1
cp "$PK/bin/bipeft" bin/bipeft && cp -r "$PK"/data/suite/. data/suite/ || exit 1
export LD_LIBRARY_PATH="$PK/lib"
{ date -u; nproc; lscpu; free -g; } > "$OUT/host.txt" 2>&1
if ! bin/bipeft --version; then
    ldd bin/bipeft
    exit 3
fi
export SUITE_OUT="$OUT" SUITE_SESSIONS=/tmp/suite-sessions PYTHONUNBUFFERED=1
export JOBS="${JOBS:-$(nproc)}" THREADS="${THREADS:-1}"
export SUITE_HOST="${SUITE_HOST:-lent-$(nproc)c}"
timeout "${LIMIT:-540}" python3 bench/search/suite.py 2>&1 | tee "$OUT/suite.log"
ls "$OUT"

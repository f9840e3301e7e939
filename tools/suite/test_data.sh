#!/usr/bin/env bash
# test_data.sh - `make test-data` (after `make data`): the suite's own checks.
#   1. the split checker finds the planted problems in tests/data/suite/leak and none in
#      tests/data/suite/good (a test of the checker itself);
#   2. no split leaks and a clean format in the built data/suite;
#   3. two fresh builds are byte-identical to each other and to data/suite.
set -euo pipefail
PY=${PYTHON:-python3}
CHECK=tools/suite/check_splits.py

$PY $CHECK tests/data/suite/good >/dev/null
out=$($PY $CHECK tests/data/suite/leak || true)
grep -q 'dev.tsv:3: 2 fields, header has 3' <<<"$out" &&
  grep -q 'test.tsv:2: text also in train' <<<"$out" ||
  { echo "test-data: FAIL: the checker missed a planted problem:"; echo "$out"; exit 1; }
echo "test-data: checker fixtures ok"

$PY $CHECK data/suite

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bipeft-suite-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
$PY tools/suite/build.py "$tmp/a" >/dev/null
$PY tools/suite/build.py "$tmp/b" >/dev/null
diff -r "$tmp/a" "$tmp/b" >/dev/null || { echo "test-data: FAIL: two builds differ"; exit 1; }
for f in "$tmp"/a/*/*.tsv; do
  rel=${f#"$tmp"/a/}
  cmp -s "$f" "data/suite/$rel" || { echo "test-data: FAIL: data/suite/$rel differs from a fresh build"; exit 1; }
done
echo "test-data: two builds byte-identical to each other and to data/suite"

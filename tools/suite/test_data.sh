#!/usr/bin/env bash
# test_data.sh - `make test-data` (after `make data`): the suite's own checks.
#   1. the split checker finds the planted problems in tests/data/suite/leak and none in
#      tests/data/suite/good (a test of the checker itself);
#   2. no split leaks and a clean format in the built data/suite;
#   3. two fresh builds are byte-identical to each other and to data/suite;
#   4. the pretraining corpus (tools/corpus/): two builds into temp folders are byte-identical
#      and match data/corpus/SHA256SUMS, tools/corpus/check.py passes on the build, and fails
#      on a copy with a dev text planted in one line and a tab in another.
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

# The pretraining corpus: built from data/suite, so after the suite checks above.
CCHECK=tools/corpus/check.py
$PY tools/corpus/build.py data/suite "$tmp/ca" >/dev/null
$PY tools/corpus/build.py data/suite "$tmp/cb" >/dev/null
diff -r "$tmp/ca" "$tmp/cb" >/dev/null || { echo "test-data: FAIL: two corpus builds differ"; exit 1; }
(cd "$tmp/ca" && sha256sum --quiet -c "$OLDPWD/data/corpus/SHA256SUMS") ||
  { echo "test-data: FAIL: a fresh corpus build differs from data/corpus/SHA256SUMS"; exit 1; }
echo "test-data: two corpus builds byte-identical to each other and to data/corpus/SHA256SUMS"
$PY $CCHECK data/suite "$tmp/ca"
# A test of the corpus checker itself: a dev text (the first of wn_super, upper-cased, inside a
# KJV verse) and a tab (in a fortune line), each put into an existing line of a copy.
cp -r "$tmp/ca" "$tmp/leak"
planted=$($PY - "$tmp/leak" <<'EOF'
import sys
d = sys.argv[1]
with open("data/suite/wn_super/dev.tsv", encoding="utf-8") as f:
    text = f.read().split("\n")[1].split("\t")[0]
for name, n, new in (("kjv.txt", 100, lambda l: l + " (" + text.upper() + ")"),
                     ("fortunes.txt", 7, lambda l: l.replace(" ", "\t", 1))):
    p = d + "/" + name
    with open(p, encoding="utf-8") as f:
        lines = f.read().split("\n")
    lines[n - 1] = new(lines[n - 1])
    with open(p, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
print(text)
EOF
)
rc=0; out=$($PY $CCHECK data/suite "$tmp/leak") || rc=$?
[ $rc = 1 ] && grep -qF "$tmp/leak/kjv.txt:100: holds the suite text of wn_super/dev.tsv:2: $planted" <<<"$out" &&
  grep -qF "$tmp/leak/fortunes.txt:7: holds a tab" <<<"$out" ||
  { echo "test-data: FAIL: the corpus check missed a planted leak (exit $rc):"; echo "$out"; exit 1; }
echo "test-data: corpus check catches a planted dev text and a tab"

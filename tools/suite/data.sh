#!/usr/bin/env bash
# data.sh - `make data`: build the offline task suite into data/suite/ and verify it.
#
#   tools/suite/data.sh            build if needed, then verify against data/suite/SHA256SUMS
#   tools/suite/data.sh --update   rebuild and rewrite SHA256SUMS (after a deliberate change
#                                  to the builder or a new package version; commit the file)
#
# Cached: when every file listed in SHA256SUMS exists and matches, nothing is rebuilt. A build
# goes to a temporary folder first, so an interrupted build never leaves half-written TSVs.
set -euo pipefail

DIR=data/suite
SUMS=$DIR/SHA256SUMS
PY=${PYTHON:-python3}

update=0
[ "${1-}" = "--update" ] && update=1

if [ $update = 0 ] && [ -f $SUMS ] && (cd $DIR && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
  echo "data: $DIR up to date (checksums verified)"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bipeft-suite.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "data: building the task suite from Debian packages (wordnet-base, fortunes)"
$PY tools/suite/build.py "$tmp"
$PY tools/suite/check_splits.py "$tmp"

# Move the new files into place, task by task (only the task folders; SHA256SUMS stays).
for t in "$tmp"/*/; do
  name=$(basename "$t")
  rm -rf "${DIR:?}/$name"
  mkdir -p "$DIR"
  cp -r "$t" "$DIR/$name"
done

if [ $update = 1 ]; then
  (cd $DIR && find . -name '*.tsv' | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum) > $SUMS
  echo "data: wrote $SUMS ($(wc -l < $SUMS) files); commit it"
  exit 0
fi

if [ ! -f $SUMS ]; then
  echo "data: ERROR: $SUMS is missing; run 'tools/suite/data.sh --update' to create it" >&2
  exit 1
fi
# Verify: name every file that differs (e.g. a different package version upstream).
bad=$(cd $DIR && sha256sum -c $(basename $SUMS) 2>/dev/null | grep -v ': OK$' || true)
if [ -n "$bad" ]; then
  echo "data: ERROR: checksum mismatch against $SUMS:" >&2
  echo "$bad" | sed "s|^|  $DIR/|" >&2
  echo "data: the package versions may differ from those in docs/SUITE.md" >&2
  exit 1
fi
echo "data: $DIR built, $(wc -l < $SUMS) files verified"

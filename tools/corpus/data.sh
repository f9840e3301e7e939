#!/usr/bin/env bash
# data.sh - `make corpus`: build the base model's pretraining corpus into data/corpus/ and
# verify it (docs/PRETRAIN.md, "The base model").
#
#   tools/corpus/data.sh            build if needed, then verify against data/corpus/SHA256SUMS
#   tools/corpus/data.sh --update   rebuild and rewrite SHA256SUMS (after a deliberate change
#                                   to the builder, the suite or a package version; commit it)
#
# Needs the task suite (`make data`): every dev/test text of data/suite is filtered out of the
# corpus, so the suite must be built and match its own checksums first. Cached: when every file
# listed in SHA256SUMS exists and matches, nothing is rebuilt. A build goes to a temporary
# folder and is checked (tools/corpus/check.py) before anything is moved; each file is then
# copied next to its place and renamed over it, so no file is ever half-written.
# CORPUS_DIR and SUITE_DIR override data/corpus and data/suite (for tests).
set -euo pipefail

DIR=${CORPUS_DIR:-data/corpus}
SUITE=${SUITE_DIR:-data/suite}
SUMS=$DIR/SHA256SUMS
PY=${PYTHON:-python3}
FILES=(wordnet.txt fortunes.txt kjv.txt corpus.json)

update=0
[ "${1-}" = "--update" ] && update=1

if [ $update = 0 ] && [ -f "$SUMS" ] && (cd "$DIR" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
  echo "corpus: $DIR up to date (checksums verified)"
  exit 0
fi

if ! [ -f "$SUITE/SHA256SUMS" ] || ! (cd "$SUITE" && sha256sum --quiet -c SHA256SUMS) >/dev/null 2>&1; then
  echo "corpus: ERROR: the task suite in $SUITE is missing or does not match its checksums;" \
       "run 'make data' first" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bipeft-corpus.XXXXXX")
trap 'rm -rf "$tmp"; rm -f "$DIR"/.*.part' EXIT
echo "corpus: building the pretraining corpus from Debian packages" \
     "(wordnet-base, fortunes, fortunes-min, bible-kjv), without the suite's dev/test texts"
$PY tools/corpus/build.py "$SUITE" "$tmp"
$PY tools/corpus/check.py "$SUITE" "$tmp"

mkdir -p "$DIR"
for f in "${FILES[@]}"; do
  [ -f "$tmp/$f" ] || { echo "corpus: ERROR: the build wrote no $f" >&2; exit 1; }
  cp "$tmp/$f" "$DIR/.$f.part"
  mv -f "$DIR/.$f.part" "$DIR/$f"
done

if [ $update = 1 ]; then
  (cd "$DIR" && printf '%s\n' "${FILES[@]}" | LC_ALL=C sort | xargs sha256sum) > "$SUMS"
  echo "corpus: wrote $SUMS ($(wc -l < "$SUMS") files); commit it"
  exit 0
fi

if [ ! -f "$SUMS" ]; then
  echo "corpus: ERROR: $SUMS is missing; run 'tools/corpus/data.sh --update' to create it" >&2
  exit 1
fi
# Verify: name every file that differs (e.g. a different package version upstream).
bad=$(cd "$DIR" && sha256sum -c SHA256SUMS 2>/dev/null | grep -v ': OK$' || true)
if [ -n "$bad" ]; then
  echo "corpus: ERROR: checksum mismatch against $SUMS:" >&2
  echo "$bad" | sed "s|^|  $DIR/|" >&2
  echo "corpus: the package versions may differ from those in docs/PRETRAIN.md" >&2
  exit 1
fi
echo "corpus: $DIR built, $(wc -l < "$SUMS") files verified"

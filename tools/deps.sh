#!/usr/bin/env bash
# deps.sh - install the Debian packages bipeft needs, or say exactly how to.
# Fast when everything is present (one dpkg-query). As root it runs apt-get; otherwise it
# prints the apt-get line and exits 1.
set -euo pipefail

# Why each: docs/ARCHITECTURE.md ("Dependencies").
PKGS=(
  build-essential pkg-config
  libopenblas-openmp-dev   # BLAS: OpenBLAS built on the same OpenMP runtime as our kernels
  liblua5.4-dev            # policies and configs (Lua 5.4)
  libncurses-dev           # the TUI (ncursesw)
  libsqlite3-dev           # session store
  libcjson-dev             # JSON: config.json, tokenizer.json, safetensors headers, JSONL data
  libcsv-dev               # CSV/TSV datasets (RFC 4180 parser)
  libutf8proc-dev          # Unicode normalisation for tokenizers
  libcriterion-dev         # C unit tests
  lua-busted               # Lua unit tests
  tmux                     # drives the TUI in end-to-end tests
  python3                  # builds the offline task suite (make data; standard library only)
  wordnet-base             # suite source: WordNet 3.0 glosses, supersenses, hypernyms, sense counts
  fortunes                 # suite source: fortune cookie files filed by topic
  fortunes-min             # pretraining corpus (make corpus): the remaining fortune files
  bible-kjv                # pretraining corpus: the King James Bible through its `bible` command
)

missing=()
while read -r name status; do
  [ "$status" = "installed" ] || missing+=("$name")
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
# dpkg-query prints nothing for packages it has never heard of: catch those too.
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || {
    [[ " ${missing[*]-} " == *" $p "* ]] || missing+=("$p"); }
done

[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "bipeft: missing Debian packages: ${missing[*]}" >&2
  echo "bipeft: run as root:  apt-get update && $line" >&2
  exit 1
fi
echo "bipeft: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

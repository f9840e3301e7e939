#!/bin/sh
# bench/search/lent_pack.sh - make .devpack/pack.tar.xz for bench/search/lent_suite.sh: bipeft
# built from HEAD in a scratch clone with ARCH=-march=x86-64-v3 (any AVX2 machine, not only this
# one), the shared libraries it links (all but the C library, which the other machine has), and
# the suite data of this working tree (make data first).
#
#   sh bench/search/lent_pack.sh      then the device tool: carry .devpack, run lent_suite.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$ROOT/data/suite/wn_super/train.tsv" ]; then
    echo "lent_pack: $ROOT/data/suite has no data: run make data first" >&2
    exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git clone -q "$ROOT" "$TMP/src"
make -C "$TMP/src" -j"$(nproc)" ARCH=-march=x86-64-v3 bin/bipeft >/dev/null
mkdir -p "$TMP/pk/bin" "$TMP/pk/lib" "$TMP/pk/data"
cp "$TMP/src/bin/bipeft" "$TMP/pk/bin/"
ldd "$TMP/pk/bin/bipeft" | awk '/=>/ {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
        libc.so.*|libm.so.*) ;;  # glibc: the other machine's own (same or newer)
        *) cp -L "$lib" "$TMP/pk/lib/" ;;
    esac
done
cp -r "$ROOT/data/suite" "$TMP/pk/data/"
mkdir -p "$ROOT/.devpack"
tar -C "$TMP/pk" -cf - . | xz -1 -T0 > "$ROOT/.devpack/pack.tar.xz.tmp"
mv "$ROOT/.devpack/pack.tar.xz.tmp" "$ROOT/.devpack/pack.tar.xz"
# everything the binary needs must be in the pack
if LD_LIBRARY_PATH="$TMP/pk/lib" ldd "$TMP/pk/bin/bipeft" | grep "not found"; then exit 1; fi
EXCL=$(git -C "$ROOT" rev-parse --git-path info/exclude)
case "$EXCL" in /*) ;; *) EXCL="$ROOT/$EXCL" ;; esac
mkdir -p "$(dirname "$EXCL")"
grep -qx '/.devpack/' "$EXCL" 2>/dev/null || echo '/.devpack/' >> "$EXCL"
ls -l "$ROOT/.devpack/pack.tar.xz"

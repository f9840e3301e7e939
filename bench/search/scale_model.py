#!/usr/bin/env python3
"""bench/search/scale_model.py SRC DST SCALE - a random-features backbone for the search
benchmark: copy the HF folder SRC to DST with every layer projection weight multiplied by
SCALE. The committed fixtures are initialised N(0, 0.02), so their layers are close to the
identity and leave modules little to work with; N(0, 0.02 * SCALE) layers give every kind
input-dependent features (the same trick as tests/test_train.c). Plain Python: reads and
writes the safetensors format directly (F32 only)."""
import json
import os
import shutil
import struct
import sys
from array import array


def main():
    src, dst, scale = sys.argv[1], sys.argv[2], float(sys.argv[3])
    os.makedirs(dst, exist_ok=True)
    for f in ("config.json", "tokenizer.json"):
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    raw = open(os.path.join(src, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = bytearray(raw[8 + n:])
    for name, t in header.items():
        if name == "__metadata__" or not name.endswith("proj.weight") or ".layers." not in name:
            continue
        assert t["dtype"] == "F32", name
        a, b = t["data_offsets"]
        v = array("f")
        v.frombytes(bytes(body[a:b]))
        for i in range(len(v)):
            v[i] *= scale
        body[a:b] = v.tobytes()
    with open(os.path.join(dst, "model.safetensors"), "wb") as f:
        f.write(raw[:8 + n])
        f.write(body)


if __name__ == "__main__":
    main()

#!/bin/sh
# bench/gpu/run.sh - the checks that need the GPU machine (real transformers + peft there):
# bipeft's PEFT and merged exports loaded by them, for every family fixture and kind, with
# a bf16 copy of the BERT base for the merged export's dtype. Writes $OUT/peft_export.txt.
# Build first (make -j16); run from the repository root: sh bench/gpu/run.sh
set -u
OUT=${OUT:-bench/gpu/out}
mkdir -p "$OUT"
log="$OUT/peft_export.txt"
: > "$log"
tmp=$(mktemp -d)
# a bf16 base: the BERT fixture's config saying bfloat16 (the tensors stay as they are)
cp -r tests/data/hf/bert-cls "$tmp/bert-bf16"
python3 -c "import json,sys; p=sys.argv[1]+'/config.json'; c=json.load(open(p)); \
c['torch_dtype']='bfloat16'; json.dump(c, open(p,'w'))" "$tmp/bert-bf16"
rc=0
for case in bert-cls:lora bert-cls:ia3 bert-cls:ln gpt2-cls:lora llama-cls:lora llama-cls:ln \
            roberta-cls:lora "$tmp/bert-bf16:lora"; do
    fix=${case%:*}
    kind=${case##*:}
    case $fix in /*) src=$fix ;; *) src=tests/data/hf/$fix ;; esac
    echo "== $fix $kind" >> "$log"
    python3 bench/gpu/check_peft_export.py "$tmp/run-$(basename "$fix")-$kind" \
        --make-from "$src" --kind "$kind" --bin bin/bipeft >> "$log" 2>&1 || rc=1
done
cat "$log"
exit $rc

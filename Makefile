# bipeft - one GNU Makefile. `make run` and `make test` are all a new machine needs.
#
#   make            build bin/bipeft (objects under build/)
#   make run        install missing Debian packages, build, build the task suite, then the main
#                   job: a BIPEFT search + retraining + LoRA baseline on wn_super (~8 min), in
#                   the TUI on a terminal, headless with a progress line otherwise
#   make run-ci     the same, CI-sized (configs/run_ci.lua: one epoch, fewer stages)
#   make test       unit tests (busted for lua/, then Criterion), then the TUI's end-to-end tests
#                   in tmux (tests/tui/; make test-tui alone)
#   make test-lua   Lua-side stdlib tests only (busted, tests/lua/*_spec.lua)
#   make test-resume  the 200-kill SIGKILL-and-resume check of search sessions and every
#                   disk-fault injection point of a session's first writes (~15 min)
#   make test-asan  the same suite built with ASan+UBSan (-fno-sanitize-recover=all)
#   make bench      benchmarks (bench/), prints tables; never part of `make test`
#   make check-rss  peak memory of loading a BERT-base-sized checkpoint (writes 440 MB to /tmp)
#   make fuzz       libFuzzer targets for the file and script parsers (clang; FUZZ_SECONDS each)
#   make deps       install missing Debian packages (root) or print the apt-get line
#   make data       build the offline task suite into data/suite/ (cached, checksummed)
#   make test-data  split-leak and format checks of the suite, two builds byte-identical;
#                   the corpus built twice, compared, and checked for dev/test leaks
#   make corpus     build the base model's pretraining corpus into data/corpus/ (cached,
#                   checksummed; every dev/test text of the suite left out)
#   make base-model reproduce models/bipeft-base from scratch: corpus, tokenizer, pretraining
#                   (over an hour on 2 cores)
#   make clean      remove build/ and bin/
#
# Variables: CUDA=auto|0|1 (auto: build the CUDA backend when nvcc and kernels exist),
# ARCH (default -march=native), V=1 for full command lines, THREADS for run/bench.

.DEFAULT_GOAL := all
SHELL := /bin/bash

V ?= 0
ifeq ($(V),1)
Q :=
else
Q := @
endif

CC ?= cc
ARCH ?= -march=native
BUILD ?= build
PKG_CONFIG ?= pkg-config
THREADS ?= 0

# Libraries used by the code today (the deps step installs those of later modules too).
PKGS := openblas libcjson libutf8proc lua5.4 sqlite3 ncursesw
TEST_PKGS := criterion
# Debian packages (not pkg-config) that `make data` reads; tools/deps.sh installs them too.
DATA_DEBS := python3 wordnet-base fortunes
# ... and those that `make corpus` reads besides (the pretraining corpus of the base model).
CORPUS_DEBS := fortunes-min bible-kjv

have_pkgs := $(shell $(PKG_CONFIG) --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && echo yes)
ifeq ($(have_pkgs),yes)
# ncursesw's cflags (-D_XOPEN_SOURCE=600 -D_DEFAULT_SOURCE) change the feature macros, so they
# apply to the TUI's files only (UI_CFLAGS), not to the rest of the library.
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(filter-out ncursesw,$(PKGS)))
UI_CFLAGS := $(shell $(PKG_CONFIG) --cflags ncursesw)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
BLAS_LIBDIR := $(shell $(PKG_CONFIG) --variable=libdir openblas)
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wwrite-strings -Wstrict-prototypes \
        -Wmissing-prototypes -Wundef -Wvla
# -fno-math-errno: we never read errno after libm calls; without it sqrtf keeps a library-call
# path that stops loops from vectorising. -ffp-contract=fast: fuse a*b+c into FMA, as GNU C
# does by default but -std=c11 does not (1.6x on the vmath polynomials; results stay
# deterministic for a given binary).
BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -g $(WARN) -fopenmp -fno-math-errno \
               -ffp-contract=fast -Isrc -Iui -MMD -MP
OPT := -O3 $(ARCH)

# ---- sources ----
# Every .c under src/ one or two levels down is library code (src/<module>/, src/core/cpu/),
# and so is the TUI in ui/ (objects under $(OBJDIR)/ui/); main.c alone makes the binary.
LIB_SRC := $(sort $(wildcard src/*/*.c) $(wildcard src/*/*/*.c))
UI_SRC := $(sort $(wildcard ui/*.c))
MAIN_SRC := src/main.c
TEST_SRC := $(wildcard tests/*.c)
BENCH_SRC := $(wildcard bench/*.c)

# ---- CUDA detection (the backend itself is a later issue: src/core/cuda/ has a place) ----
CUDA ?= auto
NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CU_SRC := $(wildcard src/core/cuda/*.cu)
ifeq ($(CUDA),0)
cuda_build := no
cuda_why := disabled by CUDA=0
else ifeq ($(NVCC),)
cuda_build := no
cuda_why := nvcc not found
else ifeq ($(CU_SRC),)
cuda_build := no
cuda_why := nvcc found at $(NVCC), but src/core/cuda/ has no kernels yet
else
cuda_build := yes
cuda_why := nvcc $(NVCC)
endif
ifeq ($(cuda_build),yes)
LIB_SRC := $(filter-out src/core/cuda_stub.c,$(LIB_SRC))
CU_OBJ = $(CU_SRC:src/%.cu=$(OBJDIR)/%.o)
CUDA_LIBS := -L/usr/local/cuda/lib64 -lcublas -lcudart
endif

# ---- build flavours: normal (build/) and sanitized (build/asan/) ----
ifeq ($(FUZZ),1)
# clang, instrumented at -O1: `omp simd` loops are not vectorised there and clang reports each
# as a failed transformation (-Wpass-failed); that says nothing about the code, so only this
# flavour turns it off.
OBJDIR := $(BUILD)/fuzz
SAN := -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g $(ARCH) -Wno-pass-failed
else ifeq ($(SANITIZE),1)
OBJDIR := $(BUILD)/asan
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 $(ARCH)
else
OBJDIR := $(BUILD)
SAN :=
endif

CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(SAN) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -fopenmp $(SAN) -Wl,-rpath,$(BLAS_LIBDIR) $(LDFLAGS)
# libcsv (CSV/TSV datasets) ships no pkg-config file: a static library and csv.h.
LIBS_ALL = $(PKG_LIBS) -lcsv $(CUDA_LIBS) -lm

LIB_OBJ = $(LIB_SRC:src/%.c=$(OBJDIR)/%.o) $(UI_SRC:ui/%.c=$(OBJDIR)/ui/%.o) $(CU_OBJ)
TEST_OBJ = $(TEST_SRC:tests/%.c=$(OBJDIR)/tests/%.o)
BENCH_OBJ = $(BENCH_SRC:bench/%.c=$(OBJDIR)/bench/%.o)
LIB_A = $(OBJDIR)/libbipeft.a
# The default build installs bin/bipeft; other build dirs keep their binary inside.
BIN = $(if $(filter 1,$(SANITIZE)),$(OBJDIR)/bipeft,$(if $(filter build,$(BUILD)),bin/bipeft,$(BUILD)/bin/bipeft))
TEST_BIN = $(OBJDIR)/tests/bipeft-tests
BENCH_BIN = $(OBJDIR)/bench/bipeft-bench

.PHONY: all run run-ci test test-tui test-lua test-data data corpus base-model test-resume test-asan bench clean deps check-pkgs cuda-status help check-rss fuzz fuzz-build

all: check-pkgs cuda-status $(BIN)

help:
	@sed -n '3,26p' Makefile

deps:
	$(Q)bash tools/deps.sh

check-pkgs:
	@if [ "$(have_pkgs)" != yes ]; then \
	  echo "bipeft: missing build libraries ($(PKGS) $(TEST_PKGS) via pkg-config)."; \
	  echo "        run 'make deps' (as root it installs them; otherwise it prints the apt-get line)"; \
	  exit 2; fi
	@if [ ! -f /usr/include/csv.h ]; then \
	  echo "bipeft: missing libcsv (csv.h): run 'make deps' (Debian package libcsv-dev)"; exit 2; fi

# The offline task suite (docs/SUITE.md): GLUE-style TSVs built from Debian packages.
data: deps
	$(Q)for p in $(DATA_DEBS); do dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | \
	  grep -qx installed || { echo "bipeft: make data needs the Debian package $$p (make deps)"; exit 2; }; done
	$(Q)bash tools/suite/data.sh

test-data: data
	$(Q)bash tools/suite/test_data.sh

# The pretraining corpus of the base model (docs/PRETRAIN.md, "The base model"): WordNet,
# fortunes and the KJV, without any dev/test text of the suite, so it needs the suite first.
corpus: data
	$(Q)for p in $(CORPUS_DEBS); do dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | \
	  grep -qx installed || { echo "bipeft: make corpus needs the Debian package $$p (make deps)"; exit 2; }; done
	$(Q)bash tools/corpus/data.sh

# models/bipeft-base from scratch: the WordPiece tokenizer on the corpus, then
# configs/pretrain/base.lua (threads = 1; bitwise the same only with that thread count on the same
# CPU kind). The three model files are copied to a temporary folder and renamed into
# models/bipeft-base only after the run has finished, so an interrupted run leaves the
# committed model as it was (its README.md, the model card, is never touched).
BASE_MODEL_DIR := models/bipeft-base
base-model: corpus
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(BIN) tokenizer-train --vocab-size 8000 --score frequency --out build/base-model/tokenizer \
	  data/corpus/wordnet.txt data/corpus/fortunes.txt data/corpus/kjv.txt
	$(Q)$(BIN) pretrain configs/pretrain/base.lua
	$(Q)set -e; mkdir -p $(BASE_MODEL_DIR); tmp=$$(mktemp -d build/base-model/.install.XXXXXX); \
	  trap 'rm -rf "$$tmp"' EXIT; \
	  for f in config.json model.safetensors tokenizer.json; do cp build/base-model/model/$$f $$tmp/; done; \
	  for f in config.json model.safetensors tokenizer.json; do mv -f $$tmp/$$f $(BASE_MODEL_DIR)/$$f; done
	@echo "base-model: wrote $(BASE_MODEL_DIR)/{config.json,model.safetensors,tokenizer.json};" \
	  "now update the model card $(BASE_MODEL_DIR)/README.md from build/base-model/model/pretrain_summary.json"

cuda-status:
	@if [ "$(cuda_build)" = yes ]; then echo "CUDA backend: ✓ ($(cuda_why))"; \
	 else echo "CUDA backend: ✗ not built ($(cuda_why)); CPU backend only"; fi

$(OBJDIR)/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(OBJDIR)/ui/%.o: ui/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(UI_CFLAGS) -c $< -o $@

# The Lua stdlib (lua/peft/*.lua) is embedded into script_stdlib.o with .incbin.
$(OBJDIR)/script/script_stdlib.o: $(wildcard lua/peft/*.lua)

$(OBJDIR)/%.o: src/%.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $<")
	$(Q)$(NVCC) -O3 -Isrc -c $< -o $@

$(OBJDIR)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS) -Itests -c $< -o $@

$(OBJDIR)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -Ibench -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(OBJDIR)/main.o $(LIB_A)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LIBS_ALL) -o $@

$(TEST_BIN): $(TEST_OBJ) $(LIB_A)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(TEST_LIBS) $(LIBS_ALL) -o $@

# The LD_PRELOAD disk-fault shim of tests/test_search_faults.c (reliability case 22).
FAULT_SO = $(OBJDIR)/tests/libfault.so
$(FAULT_SO): tests/fault/fault_shim.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared $< -ldl -o $@

$(BENCH_BIN): $(BENCH_OBJ) $(LIB_A)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS_ALL) $^ $(LIBS_ALL) -o $@

# Tests run two at a time (2-core CI); every test is its own process (Criterion).
TEST_JOBS ?= 2
test: deps
	$(Q)$(MAKE) --no-print-directory $(TEST_BIN) $(BIN) $(FAULT_SO)
	$(Q)$(MAKE) --no-print-directory test-lua
	$(Q)OMP_NUM_THREADS=2 BIPEFT_BIN=$(BIN) BIPEFT_FAULT_SO=$(abspath $(FAULT_SO)) $(TEST_BIN) \
	  --jobs $(TEST_JOBS) $(TEST_ARGS)
	$(Q)$(MAKE) --no-print-directory test-tui

# The TUI driven in tmux: steer a search, quit and resume, resize storm, signals, locales.
test-tui: deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)BIPEFT_BIN=$(abspath $(BIN)) bash tests/tui/run.sh

# The long kill-and-resume check (reliability cases 19-23): 200 sessions each killed with
# SIGKILL at a random moment, and one killed 20 times in a row, resumed, compared bitwise
# with an uninterrupted run. `make test` runs a small version of the same test.
RESUME_KILLS ?= 200
test-resume: deps
	$(Q)$(MAKE) --no-print-directory $(TEST_BIN) $(BIN) $(FAULT_SO)
	$(Q)RESUME_KILLS=$(RESUME_KILLS) FAULT_RUNS=all OMP_NUM_THREADS=2 BIPEFT_BIN=$(BIN) \
	  BIPEFT_FAULT_SO=$(abspath $(FAULT_SO)) $(TEST_BIN) --verbose \
	  --filter '@(search/sigkill*|search_faults/*)'

# busted runs on the system Lua (5.2 on Debian 12): lua/peft/ keeps to what 5.2 and 5.4 share.
test-lua:
	$(Q)if command -v busted >/dev/null; then busted tests/lua; \
	 else echo "(busted not installed: Lua-side tests skipped; make deps installs lua-busted)"; fi

test-asan: deps $(FAULT_SO)
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 $(BUILD)/asan/tests/bipeft-tests $(BUILD)/asan/bipeft
	$(Q)ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=2 \
	  BIPEFT_BIN=$(BUILD)/asan/bipeft BIPEFT_FAULT_SO=$(abspath $(FAULT_SO)) \
	  $(BUILD)/asan/tests/bipeft-tests --jobs $(TEST_JOBS) $(TEST_ARGS)

# The PyTorch peer runs when Debian's python3-torch is installed (a developer tool only).
PEER_PY := /usr/bin/python3
bench: deps
	$(Q)$(MAKE) --no-print-directory $(BENCH_BIN)
	$(Q)mkdir -p $(OBJDIR)/bench
	$(Q)$(BENCH_BIN) --threads $(THREADS) $(BENCH_ARGS) | tee $(OBJDIR)/bench/core.md
	$(Q)for s in small base; do $(BENCH_BIN) --threads $(THREADS) --section lora --shape $$s \
	  $(BENCH_ARGS); done | grep -v '^## \|^OpenBLAS\|^$$' | tee $(OBJDIR)/bench/lora.md
	$(Q)if $(PEER_PY) -c 'import torch' 2>/dev/null; then \
	  $(PEER_PY) bench/peer_torch.py $(OBJDIR)/bench/core.md --threads $(THREADS); \
	  $(PEER_PY) bench/peer_torch.py $(OBJDIR)/bench/lora.md --threads $(THREADS) --lora; \
	else echo; echo "(PyTorch peer skipped: install python3-torch to compare)"; fi

# Peak RSS of loading a BERT-base-sized F32 checkpoint (~440 MB, written to /tmp) must stay
# under 1.15x the file size (issue 3). Not part of `make test`: it writes and reads 440 MB.
check-rss: all
	$(Q)python3 tools/rss_check.py $(BIN)

# libFuzzer targets (fuzz/fuzz_*.c, clang): the safetensors reader, config.json, tokenizer.json
# and the Lua config sandbox, each seeded from fuzz/corpus/<target>/ plus the test fixtures,
# FUZZ_SECONDS each (default 60). Not part of `make test`. A crash, leak or timeout fails the
# target (exit 1) and is kept as $(BUILD)/fuzz/<target>-crash-*; logs are
# $(BUILD)/fuzz/<target>.log; the working corpora grow under $(BUILD)/fuzz/corpus/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := safetensors config_json tokenizer lua_config data
FUZZ_BINS = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(LIB_A)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer $< $(LIB_A) \
	  $(LDFLAGS_ALL) $(LIBS_ALL) -o $@
fuzz-build:
	$(Q)command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz needs clang (apt-get install clang)"; exit 2; }
	$(Q)$(MAKE) --no-print-directory FUZZ=1 CC=$(FUZZ_CC) $(FUZZ_BINS)
fuzz: deps fuzz-build
	$(Q)set -e; d=$(BUILD)/fuzz/corpus; mkdir -p $$d; \
	for t in $(FUZZ_TARGETS); do mkdir -p $$d/$$t; cp -n fuzz/corpus/$$t/* $$d/$$t/ 2>/dev/null || true; done; \
	cp -n tests/data/hf/*/config.json $$d/config_json/ 2>/dev/null || true; \
	for k in bert roberta gpt2 llama3 llama2; do cp -n tests/data/tok/$$k/tokenizer.json $$d/tokenizer/$$k.json; done; \
	cp -n configs/*.lua $$d/lua_config/ 2>/dev/null || true; \
	failed=; for t in $(FUZZ_TARGETS); do echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  rc=0; ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -dict=fuzz/json.dict -artifact_prefix=$(BUILD)/fuzz/$$t- \
	    -print_final_stats=1 $$d/$$t > $(BUILD)/fuzz/$$t.log 2>&1 || rc=$$?; \
	  grep -E "stat::number_of_executed_units|SUMMARY|Test unit written" $(BUILD)/fuzz/$$t.log || true; \
	  [ $$rc = 0 ] || { echo "fuzz: $$t FAILED (exit $$rc), see $(BUILD)/fuzz/$$t.log"; failed="$$failed $$t"; }; \
	done; [ -z "$$failed" ] || { echo "fuzz: failures:$$failed"; exit 1; }

# The main job: a BIPEFT search with configs/default.lua on the offline suite task wn_super and
# the committed base model, retraining, and a LoRA baseline at the same budget, then a short
# summary (about 8 minutes on 2 cores). Headless with progress on stderr (`bipeft search` without
# --headless opens the TUI on a terminal). RUN_CONFIG picks another config; run-ci is the
# CI-sized variant.
RUN_CONFIG ?= configs/default.lua
run: deps
	$(Q)$(MAKE) --no-print-directory all data
	$(Q)test -f $(BASE_MODEL_DIR)/model.safetensors || { echo "bipeft: $(BASE_MODEL_DIR)/model.safetensors" \
	  "is missing (it is committed; make base-model rebuilds it)"; exit 2; }
	$(Q)$(BIN) --threads $(THREADS) search $(RUN_CONFIG) $(RUN_ARGS)

RUN_CI_SESSION := $(BUILD)/run-ci-session
run-ci:
	$(Q)rm -rf $(RUN_CI_SESSION)
	$(Q)$(MAKE) --no-print-directory run RUN_CONFIG=configs/run_ci.lua \
	  RUN_ARGS="--headless --session $(RUN_CI_SESSION)"
	$(Q)python3 tools/check_run.py $(RUN_CI_SESSION)

clean:
	rm -rf $(BUILD) bin

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

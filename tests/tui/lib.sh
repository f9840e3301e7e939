# tests/tui/lib.sh - drive the real bipeft binary in tmux (sourced by tests/tui/t_*.sh).
#
# Each test gets a private tmux server (-L), a temp folder $T with a tiny task and a search
# config over the committed tiny LLaMA fixture, and these helpers:
#   tui_start COLS ROWS CMD...   run CMD in a fresh pane (a shell that records the exit code in
#                                $T/rc and then `stty -a` in $T/stty, and stays open)
#   tui_wait REGEX [SECONDS]     until the pane shows REGEX (extended grep), else fail
#   tui_gone REGEX [SECONDS]     until the pane no longer shows REGEX, else fail
#   tui_keys KEY...              tmux send-keys
#   tui_screen                   the pane's text now
#   tui_resize COLS ROWS         resize the window (SIGWINCH to the program)
#   tui_exited [SECONDS]         until the program has ended; prints its exit code
#   tui_tty_sane                 the pane's tty is back in cooked mode, cursor visible, the
#                                alternate screen left
#   fail MSG / pass MSG
set -u
BIN=${BIPEFT_BIN:-$PWD/bin/bipeft}
ROOT=${ROOT:-$PWD}
T=$(mktemp -d /tmp/bipeft-tui.XXXXXX)
SOCK="bipeft-tui-$$"
TM="tmux -L $SOCK"
PANE="t"
trap '$TM kill-server >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

fail() { echo "FAIL $(basename "$0"): $*" >&2; echo "--- pane:" >&2; tui_screen >&2 || true; exit 1; }
pass() { echo "ok   $(basename "$0"): $*"; }

# A two-class words task and a search config on the tiny LLaMA fixture; extra Lua fields in $1
# (inside search = {...}) and $2 (top level).
tui_config() {
  python3 - "$T" <<'PY'
import random, sys
d = sys.argv[1]
a = ["sun", "warm", "bright", "happy", "gold", "light"]
b = ["rain", "cold", "dark", "grey", "storm", "night"]
n = ["the", "a", "very", "so", "is"]
for name, count, seed in (("train", 192, 51), ("dev", 64, 52), ("test", 64, 53)):
    r = random.Random(seed)
    with open(f"{d}/{name}.tsv", "w") as f:
        f.write("sentence\tlabel\n")
        for i in range(count):
            y = i % 2
            words = [r.choice(n) if w % 3 == 1 else r.choice(b if y else a)
                     for w in range(3 + r.randrange(4))]
            f.write(" ".join(words) + f"\t{y}\n")
PY
  cat > "$T/search.lua" <<LUA
return {
  mode = 'search',
  model = { path = '$ROOT/tests/data/hf/llama-cls' },
  task = { name = '${TUI_TASK:-words}', train = '$T/train.tsv', dev = '$T/dev.tsv', test = '$T/test.tsv',
           labels = { '0', '1' }, max_len = 16 },
  space = peft.space{ peft.lora{ targets = { 'q', 'v' }, ranks = { 1, 2, 4 } },
                      peft.bitfit{ targets = { 'q', 'o' } },
                      peft.ln{ targets = { 'attn_ln', 'final_ln' } } },
  budget = { params = 400 },
  optim = { lr = 1e-2, arch_lr = 0.05, batch_size = 16, epochs = ${TUI_EPOCHS:-4} },
  search = { stages = 6, hard_stages = 2, trigger_window = 2, prune_begin_epoch = 1,
             snapshot_every = 2, retrain_epochs = 2 ${1:-} },
  session = '$T/sessions',
  seed = 5, threads = 1,
  ${2:-}
}
LUA
}

tui_start() {
  local cols=$1 rows=$2; shift 2
  rm -f "$T/rc" "$T/stty"
  printf '%s\n' "$*" > "$T/cmd"
  $TM new-session -d -s "$PANE" -x "$cols" -y "$rows" \
    "cd '$ROOT' && $* ; echo \$? > '$T/rc'; stty -a > '$T/stty' 2>&1; exec sleep 600" \
    || fail "tmux could not start"
}

tui_screen() { $TM capture-pane -p -t "$PANE" 2>/dev/null; }

tui_wait() {
  local re=$1 secs=${2:-60} i=0
  while [ $i -lt $((secs * 10)) ]; do
    tui_screen | grep -Eq -- "$re" && return 0
    sleep 0.1; i=$((i + 1))
  done
  fail "waited ${secs}s for /$re/"
}

tui_gone() {
  local re=$1 secs=${2:-60} i=0
  while [ $i -lt $((secs * 10)) ]; do
    tui_screen | grep -Eq -- "$re" || return 0
    sleep 0.1; i=$((i + 1))
  done
  fail "waited ${secs}s for /$re/ to go"
}

tui_keys() { $TM send-keys -t "$PANE" "$@"; }

tui_resize() { $TM resize-window -t "$PANE" -x "$1" -y "$2"; }

tui_exited() {
  local secs=${1:-120} i=0
  while [ ! -s "$T/stty" ] && [ $i -lt $((secs * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$T/stty" ] || fail "the program did not end within ${secs}s"
  cat "$T/rc"
}

tui_tty_sane() {
  local s; s=$(cat "$T/stty")
  for flag in echo icanon isig; do
    echo "$s" | grep -Eq "(^| )$flag( |$)" || fail "stty after exit: '$flag' is not set: $s"
  done
  local f; f=$($TM display -p -t "$PANE" '#{alternate_on} #{cursor_flag}')
  [ "$f" = "0 1" ] || fail "after exit: alternate screen / cursor flags are '$f' (want '0 1')"
}

# The single session folder under $T/sessions.
tui_session() { ls -d "$T"/sessions/*/ 2>/dev/null | head -1 | sed 's#/$##'; }

# The module named in the detail panel's title (the one under the map cursor).
tui_cursor_module() {
  tui_screen | grep 'modules (' | head -1 | grep -oE '(L[0-9]+|final|emb)\.[a-z0-9_]+(\.[a-z0-9_]+)?' | tail -1
}

# The pid of the program running in the pane (the pane's shell's child).
tui_pid() {
  local sh; sh=$($TM display -p -t "$PANE" '#{pane_pid}')
  pgrep -P "$sh" | head -1
}

# Events of the session's log.db as "type|source|text" lines (python3's sqlite3: no CLI needed).
tui_events() {
  python3 - "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"{sys.argv[1]}/log.db")
for t, s, x in db.execute("SELECT type, source, text FROM events ORDER BY seq"):
    print(f"{t}|{s}|{x}")
PY
}

# The module names of a structure.json, one per line (L0.bitfit.q; final.ln for layer -1).
tui_structure_names() {
  python3 - "$1" <<'PY'
import json, sys
for m in json.load(open(sys.argv[1]))["modules"]:
    t = m["target"]
    print(f"L{m['layer']}.{m['kind']}.{t}" if m["layer"] >= 0 else f"final.{m['kind']}")
PY
}

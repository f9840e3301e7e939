#!/usr/bin/env bash
# tools/tui_screens.sh [REPLAY_SESSION] - the text screenshots of docs/tui/: every view of the
# workbench at 80x24 and 160x48, captured with tmux from real runs:
#   live-*     a search of configs/run_ci.lua (wn_super, models/bipeft-base), paused mid-way:
#              main view, plots view, help
#   replay-*   `bipeft replay` of REPLAY_SESSION (default build/tui-demo-session, a session of
#              configs/default.lua: bin/bipeft search configs/default.lua --headless
#              --session build/tui-demo-session) at 60 %
#   sessions-* the sessions screen, and two structures side by side (compare-*)
# Needs bin/bipeft, data/suite (make data) and tmux. Takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
REPLAY=${1:-build/tui-demo-session}
[ -f "$REPLAY/log.db" ] || { echo "tui_screens: $REPLAY is not a session (see the comment)" >&2; exit 2; }
OUT=docs/tui
TMP=$(mktemp -d /tmp/bipeft-shots.XXXXXX)
TM="tmux -L bipeft-shots-$$"
trap '$TM kill-server >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
export TERM=xterm-256color LANG=C.UTF-8

screen() { $TM capture-pane -p -t s; }
wait_for() { # REGEX [SECONDS]
  for _ in $(seq $((${2:-120} * 10))); do screen | grep -Eq -- "$1" && return 0; sleep 0.1; done
  echo "tui_screens: waited for /$1/" >&2; screen >&2; exit 1
}
shot() { sleep 0.6; screen > "$OUT/$1.txt"; echo "  $OUT/$1.txt"; }
sizes() { for wh in 80x24 160x48; do echo "$wh"; done; }
resize() { $TM resize-window -t s -x "${1%x*}" -y "${1#*x}"; sleep 0.4; }

# live: run, pause after 30 steps
$TM new-session -d -s s -x 160 -y 48 "bin/bipeft search configs/run_ci.lua --session $TMP/live; sleep 600"
for _ in $(seq 3000); do
  n=$(screen | grep -oE 'step [0-9]+/' | head -1 | grep -oE '[0-9]+' || echo 0)
  [ "${n:-0}" -ge 30 ] && break; sleep 0.1
done
$TM send-keys -t s Space; wait_for PAUSED 30
for wh in $(sizes); do
  resize "$wh"
  shot "live-main-$wh"
  $TM send-keys -t s Tab; shot "live-plots-$wh"; $TM send-keys -t s Tab
  $TM send-keys -t s '?'; shot "live-help-$wh"; $TM send-keys -t s Escape
done
$TM send-keys -t s q; sleep 0.3; $TM send-keys -t s y; sleep 2
$TM kill-server || true

# replay at 60 %
$TM new-session -d -s s -x 160 -y 48 "bin/bipeft replay $REPLAY; sleep 600"
wait_for 'modules \(' 30
$TM send-keys -t s 6
for wh in $(sizes); do resize "$wh"; shot "replay-$wh"; done
$TM kill-server || true

# the sessions screen over the live one (interrupted), the replayed one and, when there,
# build/run-ci-session (make run-ci); then the replayed one and the oldest side by side
mkdir -p "$TMP/root"
ln -s "$(realpath "$REPLAY")" "$TMP/root/$(basename "$REPLAY")"
ln -s "$TMP/live" "$TMP/root/live-run-ci"
[ -f build/run-ci-session/log.db ] && ln -s "$(realpath build/run-ci-session)" "$TMP/root/run-ci-session"
$TM new-session -d -s s -x 160 -y 48 "bin/bipeft replay --root $TMP/root; sleep 600"
wait_for 'sessions' 30
for wh in $(sizes); do resize "$wh"; shot "sessions-$wh"; done
$TM send-keys -t s Down m End m c
for wh in $(sizes); do resize "$wh"; shot "compare-$wh"; done
echo "tui_screens: done"

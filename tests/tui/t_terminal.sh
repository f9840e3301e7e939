#!/usr/bin/env bash
# Reliability cases 26-28 in tmux: a resize storm while paused (too-small message, the same
# screen afterwards), SIGTSTP/SIGCONT (cooked while stopped, repainted after), SIGTERM (exit
# 130, checkpoint, terminal sane), LANG=C + TERM=vt100 (ASCII only), TERM=dumb (headless).
source "$(dirname "$0")/lib.sh"
tui_config
mask() { sed -E 's/[0-9]+(\.[0-9]+)?(s|m[0-9]+s|h[0-9]+m)\b/T/g'; }

tui_start 120 40 "$BIN search $T/search.lua --paused"
tui_wait 'modules \(' 60
tui_wait 'PAUSED' 10
before=$(tui_screen | mask)
for size in "200 60" "80 24" "20 5" "1 1" "120 40" "63 20" "64 20" "30 10" "120 40"; do
  tui_resize $size; sleep 0.05
done
tui_resize 20 5
tui_wait 'too small' 10
tui_resize 120 40
tui_wait 'modules \(' 10
sleep 0.5
after=$(tui_screen | mask)
[ "$before" = "$after" ] || fail "the screen after the storm differs: $(diff <(echo "$before") <(echo "$after") | head -20)"
pid=$(tui_pid)
[ -n "$pid" ] || fail "no program pid"
tty=$($TM display -p -t "$PANE" '#{pane_tty}')
kill -TSTP "$pid"; sleep 1
stty -a -F "$tty" | grep -Eq '(^| )icanon( |$)' || fail "stopped by SIGTSTP but the tty is not cooked"
kill -CONT "$pid"
tui_wait 'modules \(' 10
kill -TERM "$pid"
rc=$(tui_exited 60)
[ "$rc" = 130 ] || fail "exit code $rc after SIGTERM (want 130)"
tui_tty_sane
[ -f "$(tui_session)/checkpoint.bin" ] || fail "no checkpoint after SIGTERM"
pass "resize storm, SIGTSTP/SIGCONT, SIGTERM"

$TM kill-server; rm -rf "$T/sessions"
tui_start 100 30 "env LANG=C LC_ALL=C TERM=vt100 NO_COLOR=1 $BIN search $T/search.lua --paused"
tui_wait 'modules \(' 60
$TM capture-pane -p -t "$PANE" > "$T/ascii.txt"
LC_ALL=C grep -q '[^ -~]' "$T/ascii.txt" && fail "non-ASCII bytes on the screen under LANG=C TERM=vt100: $(LC_ALL=C grep -n '[^ -~]' "$T/ascii.txt" | head -3)"
tui_keys q; tui_wait '[Qq]uit' 10; tui_keys y
rc=$(tui_exited 60); [ "$rc" = 130 ] || fail "exit code $rc (want 130)"
pass "LANG=C TERM=vt100 NO_COLOR: ASCII only"

$TM kill-server; rm -rf "$T/sessions"
tui_start 100 30 "env TERM=dumb $BIN search $T/search.lua"
rc=$(tui_exited 120)
[ "$rc" = 0 ] || fail "TERM=dumb run exit $rc"
tui_screen | grep -q 'session ' || fail "TERM=dumb: no headless summary"
pass "TERM=dumb runs headless"

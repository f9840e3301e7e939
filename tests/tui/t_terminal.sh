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
kill -TERM "$pid"
rc=$(tui_exited 60)
[ "$rc" = 130 ] || fail "exit code $rc after SIGTERM (want 130)"
tui_tty_sane
[ -f "$(tui_session)/checkpoint.bin" ] || fail "no checkpoint after SIGTERM"
pass "resize storm, SIGTERM"

# SIGHUP (the terminal went away): checkpoint, exit 130; SIGQUIT: the terminal restored, then
# the default action (exit 131)
for sig in HUP QUIT; do
  $TM kill-server; rm -rf "$T/sessions"
  tui_start 100 30 "$BIN search $T/search.lua --paused"
  tui_wait 'modules \(' 60
  pid=$(tui_pid); [ -n "$pid" ] || fail "no program pid"
  kill -$sig "$pid"
  rc=$(tui_exited 60)
  want=130; [ $sig = QUIT ] && want=131
  [ "$rc" = $want ] || fail "exit code $rc after SIG$sig (want $want)"
  tui_tty_sane
  [ $sig = QUIT ] || [ -f "$(tui_session)/checkpoint.bin" ] || fail "no checkpoint after SIGHUP"
done
pass "SIGHUP (exit 130, checkpoint) and SIGQUIT (exit 131) restore the terminal"

# Ctrl-Z and fg from an interactive shell (job control: a program started by a shell without
# it is in an orphaned process group, where the kernel discards SIGTSTP)
$TM kill-server; rm -rf "$T/sessions"
tui_start 120 40 "env PS1='$ ' bash --norc --noprofile -i"
sleep 0.5
tui_keys "$BIN search $T/search.lua --paused" Enter
tui_wait 'modules \(' 60
tui_keys C-z
tui_wait 'Stopped' 10
f=$($TM display -p -t "$PANE" '#{alternate_on} #{cursor_flag}')
[ "$f" = "0 1" ] || fail "stopped by Ctrl-Z: alternate screen / cursor flags are '$f' (want '0 1')"
tui_keys "stty -a > $T/stty2" Enter; sleep 0.5
for flag in echo icanon isig; do
  grep -Eq "(^| )$flag( |$)" "$T/stty2" || fail "stopped by Ctrl-Z: '$flag' is not set"
done
tui_keys "fg; echo rc=\$? > $T/rc2" Enter
tui_wait 'modules \(' 10
tui_wait 'PAUSED' 10
tui_keys q; tui_wait '[Qq]uit' 10; tui_keys y
for _ in $(seq 100); do [ -s "$T/rc2" ] && break; sleep 0.1; done
grep -qx 'rc=130' "$T/rc2" 2>/dev/null || fail "after fg and q y: $(cat "$T/rc2" 2>/dev/null)"
pass "Ctrl-Z leaves the terminal cooked, fg repaints"

$TM kill-server; rm -rf "$T/sessions"
TUI_TASK=$(printf 'w\303\266rds') tui_config   # a task name that is not ASCII: shown escaped
tui_start 100 30 "env LANG=C LC_ALL=C TERM=vt100 NO_COLOR=1 $BIN search $T/search.lua --paused"
tui_wait 'modules \(' 60
$TM capture-pane -p -t "$PANE" > "$T/ascii.txt"
LC_ALL=C grep -q '[^ -~]' "$T/ascii.txt" && fail "non-ASCII bytes on the screen under LANG=C TERM=vt100: $(LC_ALL=C grep -n '[^ -~]' "$T/ascii.txt" | head -3)"
tui_keys q; tui_wait '[Qq]uit' 10; tui_keys y
rc=$(tui_exited 60); [ "$rc" = 130 ] || fail "exit code $rc (want 130)"
grep -qF 'w\xc3\xb6rds' "$T/ascii.txt" || fail "the task name is not shown escaped (w\xc3\xb6rds)"
pass "LANG=C TERM=vt100 NO_COLOR: ASCII only, a non-ASCII task name escaped"

$TM kill-server; rm -rf "$T/sessions"
tui_start 100 30 "env TERM=dumb $BIN search $T/search.lua"
rc=$(tui_exited 120)
[ "$rc" = 0 ] || fail "TERM=dumb run exit $rc"
tui_screen | grep -q 'session ' || fail "TERM=dumb: no headless summary"
pass "TERM=dumb runs headless"

#!/usr/bin/env bash
# Start paused, pin the module under the cursor, prune the next one, reload a policy with a
# syntax error (the error shows; the old policy goes on), resume, let it finish, leave: the
# pinned module is in the final structure, the pruned one is not, and the terminal is sane.
source "$(dirname "$0")/lib.sh"
tui_config "" "policy = '$T/policy.lua',"
printf 'local config = ...\nreturn peft.policy.default(config)\n' > "$T/policy.lua"
tui_start 120 40 "$BIN search $T/search.lua --paused"
tui_wait 'modules \(' 60
tui_wait 'PAUSED' 10
pinned=$(tui_cursor_module)
[ -n "$pinned" ] || fail "no module name in the detail panel"
tui_keys p
tui_wait "pin $pinned" 20
tui_keys Right
pruned=$(tui_cursor_module)
[ -n "$pruned" ] && [ "$pruned" != "$pinned" ] || fail "the cursor did not move (still '$pruned')"
tui_keys x
tui_wait "prune $pruned" 20
printf 'local config = ...\nreturn peft.policy.default(config\n' > "$T/policy.lua"
tui_keys r
tui_wait "policy reload: .*policy\.lua:[0-9]+" 20
tui_keys Space
tui_wait 'search done' 120
tui_keys Enter
rc=$(tui_exited 60)
[ "$rc" = 0 ] || fail "exit code $rc after the final screen"
tui_tty_sane
S=$(tui_session)
st="$S/structure.json"
[ -f "$st" ] || fail "no structure.json in $S"
names=$(tui_structure_names "$st")
grep -qx "$pinned" <<< "$names" || fail "the pinned $pinned is not in the structure: $names"
grep -qx "$pruned" <<< "$names" && fail "the pruned $pruned is in the structure: $names"
ev=$(tui_events "$S")
grep -q "^pin|user|$pinned" <<< "$ev" || fail "no user pin event in the log"
grep -q "^prune|user|$pruned" <<< "$ev" || fail "no user prune event in the log"
grep -q "^refused|user|policy reload: " <<< "$ev" || fail "no refused reload in the log"
grep -q "^step|" <<< "$ev" || fail "the search did not go on after the failed reload"
pass "pinned $pinned kept, pruned $pruned gone, bad reload refused, search finished"

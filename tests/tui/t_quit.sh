#!/usr/bin/env bash
# q asks first; n keeps going; q y stops with a checkpoint (exit 130), and the session
# resumes headless to the end. A good policy reload is logged and used by the resume.
source "$(dirname "$0")/lib.sh"
tui_config "" "policy = '$T/policy.lua',"
printf 'local config = ...\nreturn peft.policy.default(config)\n' > "$T/policy.lua"
tui_start 100 30 "$BIN search $T/search.lua --paused"
tui_wait 'modules \(' 60
printf 'local config = ...\nlocal P = peft.policy.default(config)\nlocal on = P.on_step\nP.on_step = function(s) s:log("v2 policy") return on(s) end\nreturn P\n' > "$T/policy.lua"
tui_keys r
tui_wait 'policy reloaded from' 20
tui_keys q
tui_wait '[Qq]uit' 10
tui_keys n
sleep 0.5
[ -s "$T/stty" ] && fail "n at the quit question ended the program"
tui_keys q
tui_wait '[Qq]uit' 10
tui_keys y
rc=$(tui_exited 60)
[ "$rc" = 130 ] || fail "exit code $rc after q y (want 130)"
tui_tty_sane
S=$(tui_session)
[ -f "$S/checkpoint.bin" ] || fail "no checkpoint in $S"
"$BIN" resume "$S" --headless --quiet > "$T/resume.out" 2>&1 || fail "resume failed: $(cat "$T/resume.out")"
[ -f "$S/structure.json" ] || fail "the resumed session has no structure.json"
ev=$(tui_events "$S")
grep -q '^log|policy|.*v2 policy' <<< "$ev" || fail "the resumed run did not use the reloaded policy"
pass "quit asks, q y stops at exit 130 with a checkpoint, the resume finishes with the reloaded policy"

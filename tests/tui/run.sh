#!/usr/bin/env bash
# tests/tui/run.sh [t_name ...] - the TUI's end-to-end tests: each tests/tui/t_*.sh drives the
# real binary in its own tmux server. Run from the repository root (make test does); BIPEFT_BIN
# names the binary (default bin/bipeft). Exit 1 when any test fails.
cd "$(dirname "$0")/../.." || exit 2
command -v tmux >/dev/null || { echo "tests/tui: tmux is missing (make deps)" >&2; exit 2; }
export ROOT=$PWD
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(tests/tui/t_*.sh)
failed=0 passed=0
for t in "${tests[@]}"; do
  [ -f "$t" ] || t=tests/tui/$t.sh
  if bash "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "tests/tui: $passed passed, $failed failed"
[ $failed -eq 0 ]

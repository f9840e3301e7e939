-- tests/lua/helper.lua - loads lua/peft/*.lua the way the binary does (prelude first, then
-- each module with the same `peft` table), for busted, which runs on the system Lua (5.2 on
-- Debian): the stdlib is written in the subset 5.2 and 5.4 share. Sandboxing and the C
-- validation are tested in tests/test_script_*.c.
local root = os.getenv("BIPEFT_ROOT") or "."
local peft = {}
for _, name in ipairs{"prelude", "schedule", "space", "policy"} do
  local chunk = assert(loadfile(root .. "/lua/peft/" .. name .. ".lua"))
  chunk(peft)
end
return peft

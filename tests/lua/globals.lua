-- tests/lua/globals.lua - prints the runtime globals and each library's keys, sorted, one line
-- each; tests/test_script_sandbox.c compares the output of the built binary with an
-- allow-list (reliability case 14). Run: bipeft script-test tests/lua/globals.lua
local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = tostring(k) end
  table.sort(out)
  return table.concat(out, " ")
end
bipeft.log("_G: " .. keys(_G))
for _, lib in ipairs{"string", "table", "math", "utf8", "bipeft", "peft"} do
  bipeft.log(lib .. ": " .. keys(_G[lib]))
end
bipeft.log("string metatable: " .. tostring(getmetatable("")))

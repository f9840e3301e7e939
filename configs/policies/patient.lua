-- configs/policies/patient.lua - the default policy with two changes: the trigger waits for
-- a stricter agreement (0.95), and the search never prunes the value projections of the last
-- layer (pinned on the first step). Copy lua/peft/policy.lua instead to change every rule.
local config = ...
local P = peft.policy.default(peft.merge(config, { search = { trigger_threshold = 0.95 } }))
local pinned = false

function P.on_step(search)
  if pinned then return end
  for _, m in ipairs(search:modules()) do
    if m:kind() == "lora" and m:name():match("%.v$") and m:layer() == 11 then
      search:pin(m)
    end
  end
  pinned = true
end

return P

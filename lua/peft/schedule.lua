-- lua/peft/schedule.lua - schedules as plain tables, and their evaluation.
-- A schedule is {kind = "constant"|"linear"|"cosine"|"step"|"custom", ...}; C validates the
-- same tables into struct cfg_schedule. t counts units (steps for learning rates, epochs for
-- the Gumbel temperature tau) from 0; total is the number of units of the run.
--   constant{value = v}                       v
--   linear{from = a, to = b, warmup = w}      0 -> a over w units, then a -> b linearly
--   cosine{from = a, to = b, warmup = w}      0 -> a over w units, then a -> b on a half cosine
--   step{from = a, gamma = g, every = n}      a * g ^ floor(t / n)
--   custom(function(t, total) ... end)        whatever the function returns (a number)
local peft = ...
local schedule = {}

function schedule.constant(v)
  if type(v) == "table" then
    peft.check_keys(v, {"value"}, "peft.schedule.constant", 2)
    v = v.value
  end
  return peft.whole{kind = "constant", value = v}
end

local function ramp(kind)
  return function(o)
    peft.check_keys(o, {"from", "to", "warmup"}, "peft.schedule." .. kind, 2)
    o = o or {}
    return peft.whole{kind = kind, from = o.from, to = o.to, warmup = o.warmup}
  end
end
schedule.linear = ramp("linear")
schedule.cosine = ramp("cosine")

function schedule.step(o)
  peft.check_keys(o, {"from", "gamma", "every"}, "peft.schedule.step", 2)
  o = o or {}
  return peft.whole{kind = "step", from = o.from, gamma = o.gamma, every = o.every}
end

function schedule.custom(fn)
  if type(fn) ~= "function" then
    error("peft.schedule.custom: expected a function(t, total)", 2)
  end
  return peft.whole{kind = "custom", fn = fn}
end

-- eval(s, t, total) -> number
function schedule.eval(s, t, total)
  local k = s.kind
  if k == "constant" then return s.value end
  if k == "custom" then
    local v = s.fn(t, total)
    if type(v) ~= "number" then error("custom schedule returned " .. type(v), 2) end
    return v
  end
  if k == "step" then
    return s.from * s.gamma ^ math.floor(t / s.every)
  end
  local w = s.warmup or 0
  if t < w then return s.from * t / w end
  local span = total - w
  local p = span > 0 and (t - w) / span or 1
  if p > 1 then p = 1 end
  if k == "linear" then return s.from + (s.to - s.from) * p end
  if k == "cosine" then return s.to + (s.from - s.to) * 0.5 * (1 + math.cos(math.pi * p)) end
  error("unknown schedule kind " .. tostring(k), 2)
end

peft.schedule = schedule

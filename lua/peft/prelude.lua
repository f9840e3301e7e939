-- lua/peft/prelude.lua - helpers every config and policy can use as peft.*.
-- Runs first; the other stdlib files receive the same `peft` table and add to it. When all
-- have run, the C side freezes `peft` (read-only) and makes it a global.
-- Written in the Lua subset shared by 5.2 and 5.4, so that busted (Lua 5.2 on Debian) can
-- test it directly (tests/lua/*_spec.lua).
local peft = ...

-- A value that deletes a key when given in an override: include("base.lua", {seed = peft.none})
peft.none = function() end

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do
    if t[i] == nil then return false end
  end
  return n > 0
end
peft.is_list = is_list

-- Tables made by builders (spaces, schedules) replace an included value as a whole instead
-- of merging into it: a space or schedule is one choice, not a set of defaults to patch.
-- whole(t) marks t (and returns it); users can mark their own tables the same way.
local WHOLE = {peft_whole = true}
function peft.whole(t)
  if type(t) ~= "table" then error("peft.whole: expected a table", 2) end
  return setmetatable(t, WHOLE)
end
local function is_whole(t)
  local mt = getmetatable(t)
  return type(mt) == "table" and rawget(mt, "peft_whole") == true
end

-- Deep copy of plain tables (functions and other values are shared).
local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end
peft.copy = copy

-- merge(base, over) -> a new table: maps merge key by key; lists, scalars, functions and
-- whole tables (builder results) in `over` replace what `base` had; peft.none removes the key.
local function merge(base, over)
  if over == peft.none then return nil end
  if type(base) ~= "table" or type(over) ~= "table" or is_list(over) or is_list(base)
      or is_whole(over) then
    return copy(over)
  end
  local out = copy(base)
  for k, v in pairs(over) do
    if v == peft.none then out[k] = nil else out[k] = merge(base[k], v) end
  end
  return out
end
peft.merge = merge

-- layers(a, b) -> {a, a+1, ..., b}: 0-based layer indexes for `layers =` selections.
function peft.layers(a, b)
  if type(a) ~= "number" or type(b) ~= "number" or a ~= math.floor(a) or b ~= math.floor(b)
      or a < 0 or b < a then
    error("peft.layers(a, b): expected integers 0 <= a <= b", 2)
  end
  local out = {}
  for i = a, b do out[#out + 1] = i end
  return out
end

-- check_keys(t, allowed, what, level): raise on an unknown key (typos must not pass).
function peft.check_keys(t, allowed, what, level)
  if t == nil then return end
  if type(t) ~= "table" then
    error(what .. ": expected a table of options, got " .. type(t), (level or 2) + 1)
  end
  local ok = {}
  for _, k in ipairs(allowed) do ok[k] = true end
  for k in pairs(t) do
    if not ok[k] then
      error(what .. ": unknown option '" .. tostring(k) .. "' (expected one of: "
        .. table.concat(allowed, ", ") .. ")", (level or 2) + 1)
    end
  end
end

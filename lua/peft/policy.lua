-- lua/peft/policy.lua - the BIPEFT default policy: the paper's rules, in Lua.
--
-- A policy is a table of seven hooks that the engine calls at step boundaries:
--   tau(epoch, epochs)          Gumbel-softmax temperature for this epoch
--   lr(step, steps)             learning rate of the PEFT weights at this step
--   trigger(search)             true: start a pruning stage now
--   select_prune(search, delta) prune modules worth about `delta` expected parameters
--   fix_ranks(search)           fix the rank of the most dimension-stable modules
--   on_step(search)             anything else, once per step (the default does nothing)
--   should_stop(search)         true: the search is over
-- and two optional ones for checkpoints, so that a resumed search decides exactly as the
-- original would have (the engine saves and restores the policy's own state, e.g. what it
-- keeps in closures):
--   save()                      the policy's state as plain data: nil, booleans, numbers,
--                               strings, and tables of them with integer or string keys (no
--                               functions, handles or cycles; at most 32 levels deep)
--   load(t)                     put back a state that save() returned (t is an exact copy:
--                               integers stay integers, floats keep every bit)
-- `search` is a read-only handle: it answers questions with copies (search:column("cost"),
-- search:module(i):sensitivity(), ...) and acts only through verbs the engine validates and
-- logs: search:prune(m), search:fix_rank(m, r), search:pin(m), search:unpin(m),
-- search:set_budget(n), search:log(msg). See docs/LUA.md.
--
-- To change the rules, copy this file to configs/ (e.g. configs/policies/mine.lua), edit it,
-- and set `policy = "policies/mine.lua"` in the config: run as a policy file it returns
-- policy.default(config) (see the end of the file). Or start from the default and replace a
-- hook:
--   local config = ...
--   local P = peft.policy.default(config)
--   P.should_stop = function(search) return search:stages_left() == 0 or search:epoch() >= 10 end
--   return P
local arg = ...
-- As part of the stdlib this file receives the peft table; copied into configs/ and used as a
-- policy file it receives the resolved config (which has a `search` section).
local as_policy_file = type(arg) == "table" and type(arg.search) == "table"
local peft = as_policy_file and peft or arg
local policy = {}
local rules = {}

-- Cosine similarity of two 0/1 vectors (0 when either is all zeros).
function rules.cosine(a, b)
  local dot, na, nb = 0, 0, 0
  for i = 1, #a do
    dot = dot + a[i] * b[i]
    na = na + a[i]
    nb = nb + b[i]
  end
  if na == 0 or nb == 0 then return 0 end
  return dot / math.sqrt(na * nb)
end

-- Indexes 1..n sorted by key[i] (ascending, or descending with desc), ties by index, so the
-- order never depends on the sort algorithm.
function rules.order(key, desc)
  local idx = {}
  for i = 1, #key do idx[i] = i end
  table.sort(idx, function(a, b)
    local ka, kb = key[a], key[b]
    if ka ~= kb then
      if desc then return ka > kb end
      return ka < kb
    end
    return a < b
  end)
  return idx
end

-- Budget-aware selection (the trigger's knapsack): walk the modules by sensitivity, highest
-- first (pruned ones last), take a module when its expected cost still fits the budget, stop
-- once the budget is reached. Returns a 0/1 vector over all modules.
function rules.selection(sens, cost, state, budget)
  local key = {}
  for i = 1, #sens do key[i] = state[i] == "pruned" and -999 or sens[i] end
  local v, used = {}, 0
  for i = 1, #sens do v[i] = 0 end
  for _, i in ipairs(rules.order(key, true)) do
    if used >= budget then break end
    if used + cost[i] <= budget then
      v[i] = 1
      used = used + cost[i]
    end
  end
  return v
end

-- Which modules to prune for a stage that should remove `delta` expected parameters: least
-- sensitive first; take a module while the total stays within delta (the first one always,
-- when delta > 0); stop once the total exceeds delta. Pinned and pruned modules are skipped.
function rules.prune_set(sens, cost, state, pinned, delta)
  local out = {}
  if delta <= 0 then return out end
  local total = 0
  for _, i in ipairs(rules.order(sens, false)) do
    if total > delta then break end
    if state[i] ~= "pruned" and not pinned[i] then
      if total + cost[i] <= delta or #out == 0 then
        out[#out + 1] = i
        total = total + cost[i]
      end
    end
  end
  return out
end

-- How many ranks to fix this stage and which: n = floor(G * unfixed / K) of the modules with
-- the smallest dimension-stability indicator (DSI); all of them when K == 1, none when K == 0.
function rules.fix_set(dsi, state, nranks, stability, stages_left)
  local unfixed, key = {}, {}
  for i = 1, #dsi do
    if nranks[i] > 1 and state[i] == "active" then unfixed[#unfixed + 1] = i end
  end
  if stages_left <= 0 or #unfixed == 0 then return {} end
  if stability ~= stability then stability = 1 end -- NaN counts as stable
  local n = #unfixed
  if stages_left > 1 then n = math.floor(stability * #unfixed / stages_left) end
  for j, i in ipairs(unfixed) do key[j] = dsi[i] end
  local out = {}
  for j, pos in ipairs(rules.order(key, false)) do
    if j > n then break end
    out[#out + 1] = unfixed[pos]
  end
  return out
end

policy.rules = rules

-- The default policy, built over the resolved config (the value `...` a policy file gets).
function policy.default(config)
  local S = config.search
  local window, threshold = S.trigger_window, S.trigger_threshold
  local history, seen = {}, 0 -- the last window+1 selection vectors; how many ever stored
  local span = S.stage_span or 0
  local first -- the step of the first stage (stage_span)
  local P = {}

  function P.tau(epoch, epochs)
    return peft.schedule.eval(config.schedule.tau, epoch, epochs)
  end

  function P.lr(step, steps)
    return config.optim.lr * peft.schedule.eval(config.schedule.lr, step, steps)
  end

  -- Fires when the budget-aware selection has been stable: mean cosine similarity with the
  -- `window` most recent selections >= threshold, once more than `window` are stored.
  -- With search.stage_span > 0 the stages are spread over that many epochs: stage k (0-based)
  -- fires no earlier than first + k * span * steps_per_epoch / stages_total, where first is
  -- the step of the first stage, so the modules left adapt between stages.
  function P.trigger(search)
    if search:stages_left() <= 0 or search:epoch() < S.prune_begin_epoch then return false end
    local v = rules.selection(search:column("sensitivity"), search:column("cost"),
                              search:column("state"), search:budget())
    local fire = false
    if seen > window then
      local sum = 0
      for j = #history - window + 1, #history do sum = sum + rules.cosine(v, history[j]) end
      fire = sum / window >= threshold
    end
    history[#history + 1] = v
    seen = seen + 1
    if #history > window then table.remove(history, 1) end
    if fire and span > 0 then
      local done = search:stages_total() - search:stages_left()
      if first == nil then first = search:step() end
      if search:step() < first + done * span * search:steps_per_epoch() / search:stages_total()
      then
        fire = false
      end
    end
    return fire
  end

  function P.select_prune(search, delta)
    local ids = rules.prune_set(search:column("sensitivity"), search:column("cost"),
                                search:column("state"), search:column("pinned"), delta)
    for _, i in ipairs(ids) do search:prune(search:module(i)) end
  end

  function P.fix_ranks(search)
    if search:stability_window() < 2 then return end
    local ids = rules.fix_set(search:column("stability"), search:column("state"),
                              search:column("n_ranks"), search:global_stability(),
                              search:stages_left())
    for _, i in ipairs(ids) do
      local m = search:module(i)
      search:fix_rank(m, m:rank())
    end
  end

  function P.on_step(search) end

  function P.should_stop(search)
    return search:stages_left() <= 0
  end

  -- Checkpoints: the trigger's history (and the first stage's step) is this policy's state.
  local function copy_list(v)
    local c = {}
    for i = 1, #v do c[i] = v[i] end
    return c
  end

  function P.save()
    local h = {}
    for j = 1, #history do h[j] = copy_list(history[j]) end
    return {history = h, seen = seen, first = first}
  end

  function P.load(t)
    if type(t) ~= "table" or type(t.history) ~= "table" or type(t.seen) ~= "number" then
      error("load: expected the table that save() returned ({history = {...}, seen = n})", 2)
    end
    local h = {}
    for j = 1, #t.history do
      if type(t.history[j]) ~= "table" then
        error("load: history[" .. j .. "] is not a list", 2)
      end
      h[j] = copy_list(t.history[j])
    end
    while #h > window do table.remove(h, 1) end -- a smaller trigger_window since the save
    if t.first ~= nil and type(t.first) ~= "number" then
      error("load: first is not a step number", 2)
    end
    history, seen, first = h, t.seen, t.first
  end

  return P
end

if as_policy_file then return policy.default(arg) end
peft.policy = policy

-- tests/lua/policy_spec.lua - the default policy's rules on a fake search written in Lua
local peft = dofile("tests/lua/helper.lua")
local rules = peft.policy.rules

-- A fake search with the handle methods the default policy uses.
local function fake(mods, o)
  o = o or {}
  local s = {pruned = {}, fixed = {}, mods = mods}
  local function col(name)
    local out = {}
    for i, m in ipairs(mods) do out[i] = m[name] end
    return out
  end
  function s:column(name) return col(name) end
  function s:module(i)
    local m = mods[i]
    return {id = i, rank = function() return m.rank end}
  end
  function s:budget() return o.budget or 1000 end
  function s:stages_left() return o.stages_left or 10 end
  function s:stages_total() return o.stages_total or 10 end
  function s:step() return o.step or 0 end
  function s:steps_per_epoch() return o.steps_per_epoch or 20 end
  function s:epoch() return o.epoch or 5 end
  function s:global_stability() return o.G or 1 end
  function s:stability_window() return o.window or 2 end
  function s:prune(m) s.pruned[#s.pruned + 1] = m.id; mods[m.id].state = "pruned" end
  function s:fix_rank(m, r) s.fixed[#s.fixed + 1] = {m.id, r}; mods[m.id].state = "fixed" end
  return s
end

local function modules(n)
  local mods = {}
  for i = 1, n do
    mods[i] = {sensitivity = n + 1 - i, cost = 100 * i, state = "active", pinned = false,
               stability = 0.1 * (n + 1 - i), n_ranks = 3, rank = 4}
  end
  return mods
end

local config = {
  search = {trigger_window = 5, trigger_threshold = 0.85, prune_begin_epoch = 2},
  schedule = {tau = peft.schedule.linear{from = 5, to = 1},
              lr = peft.schedule.linear{from = 1, to = 0}},
  optim = {lr = 3e-4},
}

describe("rules", function()
  it("cosine of 0/1 vectors", function()
    assert.are.equal(1, rules.cosine({1, 0, 1}, {1, 0, 1}))
    assert.are.equal(0, rules.cosine({0, 0}, {1, 1}))
    assert.is_true(math.abs(rules.cosine({1, 1}, {1, 0}) - 1 / math.sqrt(2)) < 1e-12)
  end)
  it("selection fills the budget by sensitivity", function()
    -- sensitivities 6..1, costs 100..600, budget 1000: take 1, 2, 3, 4 (1000)
    local v = rules.selection({6, 5, 4, 3, 2, 1}, {100, 200, 300, 400, 500, 600},
      {"active", "active", "active", "active", "active", "active"}, 1000)
    assert.are.same({1, 1, 1, 1, 0, 0}, v)
  end)
  it("prune set: least sensitive first, within delta, the first always", function()
    local sens, cost = {6, 5, 4, 3, 2, 1}, {100, 200, 300, 400, 500, 600}
    local st = {"active", "active", "active", "active", "active", "active"}
    local none = {false, false, false, false, false, false}
    assert.are.same({6, 4}, rules.prune_set(sens, cost, st, none, 1000))
    assert.are.same({6}, rules.prune_set(sens, cost, st, none, 1))
    assert.are.same({}, rules.prune_set(sens, cost, st, none, 0))
    local pinned = {false, false, false, false, false, true}
    assert.are.same({5}, rules.prune_set(sens, cost, st, pinned, 1))
  end)
  it("fix set: floor(G * unfixed / K) most stable", function()
    local dsi = {0.6, 0.5, 0.4, 0.3, 0.2, 0.1}
    local st = {"active", "active", "active", "active", "active", "pruned"}
    local nr = {3, 3, 3, 3, 3, 3}
    assert.are.same({5, 4}, rules.fix_set(dsi, st, nr, 1, 2))
    assert.are.same({5, 4, 3, 2, 1}, rules.fix_set(dsi, st, nr, 0.5, 1))
    assert.are.same({}, rules.fix_set(dsi, st, nr, 1, 0))
    assert.are.same({5, 4}, rules.fix_set(dsi, st, nr, 0 / 0, 2)) -- NaN counts as 1
  end)
end)

describe("policy.default", function()
  it("tau and lr", function()
    local P = peft.policy.default(config)
    assert.are.equal(5, P.tau(0, 15))
    assert.is_true(math.abs(P.lr(50, 100) - 1.5e-4) < 1e-15)
  end)
  it("trigger fires on the 7th stable selection, not before prune_begin_epoch", function()
    local P = peft.policy.default(config)
    assert.is_false(P.trigger(fake(modules(6), {epoch = 1})))
    local s = fake(modules(6))
    for _ = 1, 6 do assert.is_false(P.trigger(s)) end
    assert.is_true(P.trigger(s))
    assert.is_false(P.trigger(fake(modules(6), {stages_left = 0})))
  end)
  it("select_prune and fix_ranks act through the verbs", function()
    local P = peft.policy.default(config)
    local s = fake(modules(6))
    P.select_prune(s, 1000)
    assert.are.same({6, 4}, s.pruned)
    P.fix_ranks(s)
    -- unfixed: 1, 2, 3, 5 (K = 10): floor(4 / 10) = 0
    assert.are.same({}, s.fixed)
    local s2 = fake(modules(4), {stages_left = 1})
    P.fix_ranks(s2)
    assert.are.same({{4, 4}, {3, 4}, {2, 4}, {1, 4}}, s2.fixed)
  end)
  -- the steps (1..n) at which P's trigger fires, each firing taking one stage off o
  local function fire_steps(P, s, o, n)
    local fired = {}
    for step = 1, n do
      o.step = step
      if P.trigger(s) then
        fired[#fired + 1] = step
        o.stages_left = o.stages_left - 1
        if o.stages_left == 0 then break end
      end
    end
    return fired
  end
  it("stage_span spreads the stages: stage k not before first + k * span * per_epoch / K",
     function()
    -- span 1 epoch of 20 steps over 4 stages: a stage every 5 steps after the first
    local cfg = {search = {trigger_window = 5, trigger_threshold = 0.85, prune_begin_epoch = 2,
                           stage_span = 1}, schedule = config.schedule, optim = config.optim}
    local P = peft.policy.default(cfg)
    local o = {stages_total = 4, stages_left = 4, steps_per_epoch = 20, step = 0}
    local s = fake(modules(6), o)
    local fired = fire_steps(P, s, o, 40)
    -- the selection is stable from the 7th call on: stages at 7, 12, 17, 22
    assert.are.same({7, 12, 17, 22}, fired)
    assert.are.equal(7, P.save().first)
  end)
  it("without stage_span a stable selection fires at every step", function()
    local P = peft.policy.default(config)
    local o = {stages_total = 4, stages_left = 4, step = 0}
    local s = fake(modules(6), o)
    local fired = fire_steps(P, s, o, 40)
    assert.are.same({7, 8, 9, 10}, fired)
  end)
  it("should_stop after the last stage", function()
    local P = peft.policy.default(config)
    assert.is_false(P.should_stop(fake({}, {stages_left = 3})))
    assert.is_true(P.should_stop(fake({}, {stages_left = 0})))
  end)
end)

describe("policy.default save/load", function()
  local function decisions(P, s, n)
    local out = {}
    for i = 1, n do out[i] = P.trigger(s) end
    return out
  end

  it("a fresh policy saves an empty history", function()
    local P = peft.policy.default(config)
    assert.are.same({history = {}, seen = 0}, P.save())
  end)

  it("a restored policy decides exactly as the original", function()
    local A = peft.policy.default(config)
    local sa = fake(modules(6))
    assert.are.same({false, false, false, false}, decisions(A, sa, 4))
    local saved = A.save()
    assert.are.equal(4, saved.seen)
    assert.are.equal(4, #saved.history)
    assert.are.same({1, 1, 1, 1, 0, 0}, saved.history[1])
    local B = peft.policy.default(config)
    B.load(saved)
    local C = peft.policy.default(config) -- not restored
    local sb, sc = fake(modules(6)), fake(modules(6))
    local da, db = decisions(A, sa, 4), decisions(B, sb, 4)
    assert.are.same({false, false, true, true}, da)
    assert.are.same(da, db)
    assert.are.same({false, false, false, false}, decisions(C, sc, 4))
    -- a different selection: both stop agreeing at the same call
    sa.mods[6].sensitivity, sa.mods[6].cost = 100, 1000
    sb.mods[6].sensitivity, sb.mods[6].cost = 100, 1000
    assert.are.same(decisions(A, sa, 7), decisions(B, sb, 7))
    assert.are.same(A.save(), B.save())
  end)

  it("save and load copy the history", function()
    local A = peft.policy.default(config)
    local s = fake(modules(3))
    decisions(A, s, 2)
    local saved = A.save()
    saved.history[1][1] = 42
    assert.are.equal(1, A.save().history[1][1])
    local B = peft.policy.default(config)
    local t = A.save()
    B.load(t)
    t.history[1][1], t.seen = 42, 99
    assert.are.same(A.save(), B.save())
  end)

  it("load keeps at most trigger_window selections", function()
    local B = peft.policy.default(config)
    local h = {}
    for j = 1, 8 do h[j] = {j} end
    B.load({history = h, seen = 8})
    local saved = B.save()
    assert.are.equal(5, #saved.history)
    assert.are.same({4}, saved.history[1])
    assert.are.equal(8, saved.seen)
  end)

  it("load refuses what save() did not return", function()
    local B = peft.policy.default(config)
    assert.has_error(function() B.load(nil) end)
    assert.has_error(function() B.load({history = {}, seen = "x"}) end)
    assert.has_error(function() B.load({history = {5}, seen = 1}) end)
    assert.are.same({history = {}, seen = 0}, B.save()) -- unchanged
  end)
end)

-- lua/peft/space.lua - search-space builders. They return plain tables keyed by module kind,
-- which C validates into struct cfg_space (src/script/script_config.h):
--   space = { lora = {targets = {...}, ranks = {...}, layers = "all" | {0, 1, ...}, ...}, ... }
-- Kinds and their targets:
--   lora              q k v o ffn_up ffn_down ffn_gate   (ranks; alpha, dropout)
--   lra               attn ffn  (low-rank adapter after the sub-layer; ranks; reduction)
--   bitfit            q k v o ffn_up ffn_down ffn_gate attn_ln ffn_ln final_ln
--   ln                attn_ln ffn_ln final_ln            (LN-tuning: a gain delta)
--   serial_adapter    attn ffn                           (ranks = bottleneck sizes)
--   parallel_adapter  attn ffn                           (ranks = bottleneck sizes)
--   prefix            -                                  (ranks = prefix lengths)
--   ia3               k v ffn_up
local peft = ...

local DEFAULT_RANKS = {1, 4, 8}

local KINDS = {
  lora = {targets = {"q", "k", "v", "o", "ffn_up", "ffn_down"}, ranks = true,
          extra = {"alpha", "dropout"}},
  lra = {targets = {"attn", "ffn"}, ranks = true, extra = {"reduction"}},
  bitfit = {targets = {"q", "k", "v", "o", "ffn_up", "ffn_down", "attn_ln", "ffn_ln"}},
  ln = {targets = {"attn_ln", "ffn_ln"}},
  serial_adapter = {targets = {"ffn"}, ranks = true},
  parallel_adapter = {targets = {"ffn"}, ranks = true},
  prefix = {ranks = true},
  ia3 = {targets = {"k", "v", "ffn_up"}},
}

-- One builder per kind: peft.lora{targets = {"q", "v"}, ranks = {4, 8}, layers = peft.layers(0, 5)}
for kind, spec in pairs(KINDS) do
  local allowed = {"layers"}
  if spec.targets then allowed[#allowed + 1] = "targets" end
  if spec.ranks then allowed[#allowed + 1] = "ranks" end
  for _, e in ipairs(spec.extra or {}) do allowed[#allowed + 1] = e end
  peft[kind] = function(o)
    peft.check_keys(o, allowed, "peft." .. kind, 2)
    o = o or {}
    local g = {kind = kind, layers = peft.copy(o.layers or "all")}
    if spec.targets then g.targets = peft.copy(o.targets or spec.targets) end
    if spec.ranks then g.ranks = peft.copy(o.ranks or DEFAULT_RANKS) end
    for _, e in ipairs(spec.extra or {}) do g[e] = o[e] end
    return g
  end
end

-- space{group, group, ...} -> {kind = group-without-kind, ...}; a kind may appear once.
function peft.space(groups)
  local out = {}
  for i, g in ipairs(groups) do
    if type(g) ~= "table" or type(g.kind) ~= "string" or not KINDS[g.kind] then
      error("peft.space: item " .. i .. " is not a module group (use peft.lora{...} etc.)", 2)
    end
    if out[g.kind] then error("peft.space: kind '" .. g.kind .. "' given twice", 2) end
    local c = peft.copy(g)
    c.kind = nil
    out[g.kind] = c
  end
  return peft.whole(out)
end

-- Keep only some kinds of a space: peft.only(peft.s1(), {"lora", "bitfit"})
function peft.only(space, kinds)
  local out = {}
  for _, k in ipairs(kinds) do
    if not KINDS[k] then error("peft.only: unknown kind '" .. tostring(k) .. "'", 2) end
    out[k] = peft.copy(space[k])
  end
  return peft.whole(out)
end

local function common(o, what)
  peft.check_keys(o, {"ranks", "layers", "kinds"}, what, 3)
  o = o or {}
  return {ranks = o.ranks, layers = o.layers}, o.kinds
end

-- S1: the S3Delta mixed space with searchable ranks (the paper's main space): LoRA on
-- q, k, v, o and the FFN, low-rank adapters after attention and FFN, BitFit, LN-tuning.
function peft.s1(o)
  local c, kinds = common(o, "peft.s1")
  local s = peft.space{
    peft.lora{ranks = c.ranks, layers = c.layers},
    peft.lra{ranks = c.ranks, layers = c.layers, reduction = 32},
    peft.bitfit{layers = c.layers},
    peft.ln{layers = c.layers},
  }
  if kinds then s = peft.only(s, kinds) end
  return s
end

-- S2: AutoPEFT-style: serial adapter, parallel adapter and prefix.
function peft.s2(o)
  local c, kinds = common(o, "peft.s2")
  local s = peft.space{
    peft.serial_adapter{ranks = c.ranks, layers = c.layers},
    peft.parallel_adapter{ranks = c.ranks, layers = c.layers},
    peft.prefix{ranks = c.ranks, layers = c.layers},
  }
  if kinds then s = peft.only(s, kinds) end
  return s
end

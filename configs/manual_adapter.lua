-- configs/manual_adapter.lua - manual structure at the same budget: low-rank adapters
-- after attention and the FFN, at the largest rank that fits.
return include("default.lua", {
  space = peft.space{ peft.lra{ targets = { "attn", "ffn" }, ranks = { 1, 2, 4, 8 } } },
  search = { method = "manual" },
})

-- configs/manual_lora.lua - manual structure at the same budget: LoRA on q, k, v, o
-- and the FFN linears of every layer, at the largest rank that fits (the top layers first
-- when even rank 1 does not), trained from scratch.
return include("default.lua", {
  space = peft.space{ peft.lora{ targets = { "q", "k", "v", "o", "ffn_up", "ffn_down" },
                                 ranks = { 1, 2, 4, 8 } } },
  search = { method = "manual" },
})

-- configs/baseline_adapter.lua - baseline: a serial (Houlsby-style) adapter of bottleneck 16
-- after attention and FFN in the top six layers, plus LN-tuning, trained without search.
return include("default.lua", {
  mode = "train",
  budget = peft.none,
  space = peft.space{
    peft.serial_adapter{ targets = { "attn", "ffn" }, ranks = { 16 }, layers = peft.layers(6, 11) },
    peft.ln{},
  },
  schedule = { lr = peft.schedule.step{ from = 1, gamma = 0.5, every = 1000 } },
})

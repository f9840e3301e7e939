-- configs/baseline_lora.lua - baseline: plain LoRA r=8 on q and v in every layer, trained
-- (no search), as in Hu et al.
return include("default.lua", {
  mode = "train",
  budget = peft.none,
  space = peft.space{ peft.lora{ targets = { "q", "v" }, ranks = { 8 }, alpha = 16 } },
  schedule = { lr = peft.schedule.linear{ from = 1, to = 0, warmup = 500 } },
})

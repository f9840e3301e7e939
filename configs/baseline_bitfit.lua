-- configs/baseline_bitfit.lua - baseline: BitFit (all bias terms), trained without search.
return include("default.lua", {
  mode = "train",
  budget = peft.none,
  space = peft.space{ peft.bitfit{ targets = { "q", "k", "v", "o", "ffn_up", "ffn_down",
                                               "attn_ln", "ffn_ln", "final_ln" } } },
  optim = { lr = 1e-3 },
})

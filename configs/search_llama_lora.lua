-- configs/search_llama_lora.lua - search LoRA ranks only (q, k, v, o and the gated FFN) on a
-- llama model, with an absolute budget, on a GPU, with a policy copied from the default and
-- changed (configs/policies/patient.lua).
return include("default.lua", {
  model = { path = "models/llama-160m", family = "llama" },
  task = { name = "boolq", format = "jsonl", train = "data/boolq/train.jsonl",
           dev = "data/boolq/val.jsonl", columns = { text = "question", pair = "passage",
           label = "label" }, labels = { "false", "true" }, max_len = 256 },
  budget = { params = 500000, fraction = peft.none },
  space = peft.space{
    peft.lora{ targets = { "q", "k", "v", "o", "ffn_up", "ffn_down", "ffn_gate" },
               ranks = { 2, 4, 8, 16 } },
  },
  optim = { batch_size = 16, epochs = 5 },
  schedule = { tau = peft.schedule.custom(function(t, total) return 5 * 0.7 ^ t end) },
  device = "cuda:0",
  policy = "policies/patient.lua",
})

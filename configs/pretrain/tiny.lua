-- A tiny MLM pretraining run on the project's own documentation (bipeft pretrain; docs/PRETRAIN.md).
-- From the repository root:
--   bin/bipeft tokenizer-train --vocab-size 2000 --out sessions/pretrain-tiny-tok docs/*.md README.md
--   bin/bipeft pretrain configs/pretrain/tiny.lua
-- Paths are relative to the working directory, as in run configs.
return {
  model = { layers = 2, hidden = 64, heads = 2, intermediate = 256, max_positions = 128 },
  tokenizer = "sessions/pretrain-tiny-tok",
  corpus = { "README.md", "docs/ARCHITECTURE.md", "docs/LUA.md", "docs/SEARCH.md",
             "docs/TRAINING.md", "docs/PEFT.md", "docs/TESTING.md" },
  out = "sessions/pretrain-tiny",
  eval_fraction = 0.05,
  max_len = 128,
  batch_size = 16,
  steps = 300,
  lr = 1e-3,
  warmup = 30,
  schedule = "linear",
  weight_decay = 0.01,
  mask_prob = 0.15,
  seed = 42,
  eval_every = 100,
}

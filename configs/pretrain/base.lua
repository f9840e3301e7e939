-- The committed base model, models/bipeft-base (docs/PRETRAIN.md, "The base model").
-- `make base-model` reproduces it from scratch: builds the suite and the corpus (data/corpus/,
-- every suite dev/test text filtered out), trains the WordPiece tokenizer, then runs this.
-- A 4-layer BERT, hidden 256, on one thread (the other core stays free for other work).
return {
  model = { layers = 4, hidden = 256, heads = 4, intermediate = 1024, max_positions = 128 },
  tokenizer = "build/base-model/tokenizer",
  corpus = { "data/corpus/wordnet.txt", "data/corpus/fortunes.txt", "data/corpus/kjv.txt" },
  out = "build/base-model/model",
  eval_fraction = 0.01,
  max_len = 128,
  batch_size = 32,
  steps = 2400,
  lr = 7e-4,
  warmup = 120,
  schedule = "linear",
  weight_decay = 0.01,
  mask_prob = 0.15,
  seed = 42,
  threads = 1,
  eval_every = 400,
  log_every = 20,
}

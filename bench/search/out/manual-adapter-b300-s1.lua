local function include_base(t)
  local o = {search = { method = 'manual' }, space = peft.space{ peft.lra{ targets = { 'attn', 'ffn' }, ranks = { 1, 2, 4, 8 }, reduction = 4 } }}
  for k, v in pairs(o) do
    if type(v) == 'table' and type(t[k]) == 'table' and k ~= 'space' then
      for k2, v2 in pairs(v) do t[k][k2] = v2 end
    else t[k] = v end
  end
  return t
end
return include_base{
  mode = 'search',
  model = { path = '/work/main/tests/data/hf/llama-cls' },
  task = { name = 'words-bench', train = '/work/main/bench/search/out/data/train.tsv', dev = '/work/main/bench/search/out/data/dev.tsv',
           test = '/work/main/bench/search/out/data/test.tsv', labels = { '0', '1' }, max_len = 24 },
  space = peft.space{ peft.lora{ ranks = { 1, 4, 8 } },
                      peft.lra{ ranks = { 1, 4, 8 }, reduction = 4 },
                      peft.bitfit{}, peft.ln{} },
  budget = { params = 300 },
  optim = { lr = 3e-3, arch_lr = 0.01, batch_size = 32, epochs = 4 },
  search = { stages = 30, hard_stages = 5, prune_begin_epoch = 1, checkpoint_every = 0,
             snapshot_every = 50 },
  train = { log_every = 50 },
  session = '/work/main/bench/search/out/sessions',
  seed = 1, threads = 2,
}

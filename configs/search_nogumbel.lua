-- configs/search_nogumbel.lua - ablation: a plain softmax instead of the hard
-- Gumbel-softmax sample (spec 2.2, --no_gumbel).
return include("default.lua", { search = { gumbel = false } })

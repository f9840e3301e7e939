-- configs/search_s3delta.lua - S3Delta-style search (Hu et al. 2022) in the same engine:
-- one scalar alpha per module of the space (matrix modules at the smallest candidate rank,
-- as S3PET's rank 1), keep probability sigmoid((alpha - b) / beta) with the shift b solved
-- so that sum p n = budget (bisection), a relaxed-Bernoulli gate, all the epochs (no early
-- stop), the structure filled greedily by keep probability, retrained from scratch.
-- First-order DARTS (S3Delta used second order). Its alpha learning rate is 0.1.
return include("default.lua", {
  optim = { arch_lr = 0.1 },
  search = { method = "s3delta", s3delta_beta = 1.0 },
})

return { model = { path = "m" }, task = { name = "t", train = "x.tsv" }, budget = { params = 10 }, space = peft.s1{ ranks = { 1, 4 } } }

return include("default.lua", { model = { path = "/tmp/pt_probe" }, session = "/tmp/mr", threads = 1 })

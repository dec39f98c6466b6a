import TrellisRuntime

ConformanceMain.run()

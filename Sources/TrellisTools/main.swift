// trellis-tools: every trellis command (the file system, its servers and
// mounts, the name service, benchmarks, probes), which `trellis` hands all
// but `run` and `proxy` to. See Sources/trellis/main.swift for why.
import TrellisCommands

TrellisCommand.start()

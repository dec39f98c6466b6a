import TrellisScenarios

ScenarioRunner.run(arguments: Array(CommandLine.arguments.dropFirst()), invocation: [CommandLine.arguments[0]])

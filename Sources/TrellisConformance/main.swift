import TrellisNameService
import TrellisNames
import TrellisScenarios

// Scenarios publish as the trellis commands do: a name service starts on its own when none answers.
NameServiceSetup.install(.standard)
ScenarioRunner.run(arguments: Array(CommandLine.arguments.dropFirst()), invocation: [CommandLine.arguments[0]])

import TrellisCommands

TrellisCommand.main()

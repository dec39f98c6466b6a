import TrellisNames

extension NameServiceSetup {
    /// What the trellis commands do: read the config file's address, and
    /// start a daemon on this host when none answers.
    public static let standard = NameServiceSetup(
        configuredAddress: { try NameServiceConfigFile.address(environment: $0) },
        startWhenMissing: { try NameServiceAutostart.startIfAllowed(address: $0, environment: $1, logger: $2) })
}

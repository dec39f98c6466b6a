import TrellisBenchmarks

/// Test hosts on this machine: network namespaces on a private bridge, each
/// with its own address, hostname and sshd (see `NamespaceCluster`).
typealias TestHosts = NamespaceCluster

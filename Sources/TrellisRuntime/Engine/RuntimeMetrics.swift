import Metrics

/// Counters the engine reports through swift-metrics. They cost nothing
/// until a program bootstraps a metrics backend (Prometheus, StatsD, ...).
struct RuntimeMetrics {
    let messagesSent = Counter(label: "trellis_messages_sent_total")
    let bytesSent = Counter(label: "trellis_bytes_sent_total")
    let messagesReceived = Counter(label: "trellis_messages_received_total")
    let bytesReceived = Counter(label: "trellis_bytes_received_total")
    let rendezvousTransfers = Counter(label: "trellis_rendezvous_transfers_total")
    let discardedMessages = Counter(label: "trellis_unexpected_discarded_total")
    let peersLost = Counter(label: "trellis_peers_lost_total")
}

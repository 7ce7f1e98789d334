/// A snapshot on its way between two nodes, as `clusterctl status` shows it: the leader
/// reports what it sends, the follower what it receives.
public struct SnapshotTransfer: Codable, Equatable, Sendable {
    /// The other node: the follower for `sending`, the leader for `receiving`.
    public var peer: UInt64
    /// `sending` or `receiving`.
    public var direction: String
    public var bytes_done: UInt64
    public var bytes_total: UInt64
    public var seconds_elapsed: Double
    /// The time left at the rate so far; nil before the first byte.
    public var seconds_left: Double?

    public init(peer: UInt64, direction: String, bytesDone: UInt64, bytesTotal: UInt64, elapsed: Duration) {
        self.peer = peer
        self.direction = direction
        bytes_done = bytesDone
        bytes_total = bytesTotal
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        seconds_elapsed = (seconds * 1000).rounded() / 1000
        if bytesDone > 0, seconds > 0, bytesTotal >= bytesDone {
            let rate = Double(bytesDone) / seconds
            seconds_left = ((Double(bytesTotal - bytesDone) / rate) * 10).rounded() / 10
        }
    }
}

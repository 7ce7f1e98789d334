import Transport

/// Settings of the quota service. Every limit has a name, a unit and a default.
public struct QuotaConfiguration: Sendable, Equatable {
    /// How often deltas of the windows' state go to every peer (`quota.gossip_interval_ms`).
    public var gossipIntervalMilliseconds = 50
    /// How often the full state goes instead, repairing lost deltas
    /// (`quota.anti_entropy_interval_ms`).
    public var antiEntropyIntervalMilliseconds = 3_000
    /// How long a rights request waits for a peer's answer (`quota.rights_timeout_ms`).
    public var rightsTimeoutMilliseconds = 200
    /// How long an admission may wait for rights from peers or for a durable mark before
    /// it is refused (`quota.rights_wait_ms`).
    public var rightsWaitMilliseconds = 250
    /// Rights requests for one window, at most one per this interval
    /// (`quota.rights_request_spacing_ms`).
    public var rightsRequestSpacingMilliseconds = 20
    /// Ended windows are kept this long (late settlements, dashboards), then dropped from
    /// memory and storage (`quota.window_grace_ms`).
    public var windowGraceMilliseconds = 60_000
    /// A change of voters changes the split of windows starting this long after the
    /// leader scheduled it, so every node has applied it by then
    /// (`quota.membership_delay_ms`).
    public var membershipDelayMilliseconds = 5_000
    /// Window updates per gossip message, at most (a message stays far below
    /// `peer.payload_bytes_max`).
    public var updatesPerMessageMax = 256

    public init() {}
}

extension MessageType {
    /// Deltas (or the full state) of quota windows.
    static let quotaGossip = MessageType(0x0200)
    /// A node short of rights asks a peer for some (request/reply).
    static let quotaRightsRequest = MessageType(0x0201)
    /// The answer: the granter's full state of the window, grant included.
    static let quotaRightsReply = MessageType(0x0202)
}

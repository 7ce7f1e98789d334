import Foundation
import Consensus
import Gateway
import Logging
import Storage
import Transport

extension WeirNode {
    /// Gives a node with no Raft state its first membership — by joining the cluster of
    /// `cluster.join`, or by bootstrapping a new one from itself plus `peer.peers` (the
    /// static initial members) — and starts the Raft driver over the database.
    func makeRaftDriver(
        database: Database, transport: PeerTransport, secret: [UInt8], incarnation: Incarnation, machine: NodeStateMachine, health: NodeHealth,
        onVotersChange: @escaping @Sendable ([UInt64]) -> Void
    ) async throws -> RaftDriver {
        let config = configuration
        if try RaftDriver.needsBootstrap(database) {
            let advertise = config.peerAdvertise ?? Self.advertised(listen: config.peerListen, port: transport.listenPort)
            if let joinURL = config.joinURL {
                let client = ClusterJoinClient(
                    memberURL: joinURL, signature: ClusterSignature(secret: secret), logger: logger,
                    timeoutSeconds: config.joinTimeoutSeconds)
                let membership = try await client.join(nodeID: config.nodeID, peerAddress: advertise, incarnation: incarnation)
                var addresses: [UInt64: String] = [:]
                for (id, address) in membership.addresses { if let id = UInt64(id) { addresses[id] = address } }
                addresses[config.nodeID] = advertise
                try RaftDriver.bootstrap(database, voters: membership.voters, learners: membership.learners, addresses: addresses)
                logger.notice("joined the cluster as a learner", metadata: ["via": "\(joinURL)", "voters": "\(membership.voters)"])
            } else {
                guard config.bootstrap || config.peers.keys.allSatisfy({ $0 == config.nodeID }) else {
                    throw BootstrapRefusal()
                }
                var addresses = config.peers
                addresses[config.nodeID] = advertise
                try await BootstrapProbe(
                    transport: transport, nodeID: config.nodeID, peers: addresses, logger: logger,
                    window: .milliseconds(config.bootstrapProbeMilliseconds)).run()
                let voters = addresses.keys.sorted()
                try RaftDriver.bootstrap(database, voters: voters, addresses: addresses)
                logger.notice("bootstrapped a new cluster", metadata: ["voters": "\(voters)", "advertise": "\(advertise)"])
            }
        } else if config.joinURL != nil {
            logger.info("cluster.join ignored: this node already belongs to a cluster")
        }
        var driverConfiguration = RaftDriverConfiguration(nodeID: config.nodeID, randomSeed: UInt64.random(in: 1...UInt64.max))
        driverConfiguration.tickMilliseconds = config.raftTickMilliseconds
        driverConfiguration.snapshotEveryEntries = config.raftSnapshotEntries
        driverConfiguration.compactionMarginEntries = config.raftCompactionMarginEntries
        driverConfiguration.snapshotChunkBytes = config.raftSnapshotChunkBytes
        driverConfiguration.snapshotChunkTimeoutMilliseconds = config.raftSnapshotChunkTimeoutMilliseconds
        driverConfiguration.snapshotBytesMax = config.raftSnapshotBytesMax
        return try RaftDriver(
            configuration: driverConfiguration, database: database, transport: transport, machine: machine, logger: logger,
            onLeaderChange: { [grace = Duration.milliseconds(config.raftReadyLeaderlessGraceMilliseconds)] leader in
                health.leaderChanged(known: leader != 0, grace: grace)
            },
            onMembershipChange: { isMember in
                if isMember { health.met("member") } else { health.unmet("member") }
            },
            onVotersChange: onVotersChange,
            stampProposal: { NodeStateMachine.stampingPolicyTime($0, now: Int64(Date().timeIntervalSince1970 * 1000)) })
    }

    struct BootstrapRefusal: Error, CustomStringConvertible {
        var description: String {
            "this node has no Raft state and peer.peers lists other nodes: pass --bootstrap to form a new cluster "
                + "with them (first start only), or --join URL to join a running cluster"
        }
    }

    /// `tcp://host:0` with the port the listener actually bound.
    static func advertised(listen: String, port: Int) -> String {
        guard let colon = listen.lastIndex(of: ":") else { return listen }
        return "\(listen[..<colon]):\(port)"
    }
}

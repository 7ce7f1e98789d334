import Foundation
import Gateway
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import Storage
import Transport
import UnixSignals

/// One Weir node: opens its storage, starts the peer transport and the HTTP server, runs
/// until SIGTERM or SIGINT, then stops them in reverse order and closes the database.
public struct WeirNode: Sendable {
    /// The node's configuration.
    public let configuration: NodeConfiguration
    /// Where `/metrics` reads from.
    public let metrics: any MetricsExporter
    /// The node's logger; every line carries the node id.
    public let logger: Logger

    /// A node ready to `run()`.
    public init(configuration: NodeConfiguration, metrics: any MetricsExporter, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "node"] = "\(configuration.nodeID)"
        self.logger = logger
    }

    /// Runs the node until a shutdown signal; returns after a clean shutdown. Throws when
    /// start-up fails (a locked or foreign data directory, a port in use …) with an error
    /// whose description says what to do.
    public func run() async throws {
        let config = configuration
        let identity = NodeIdentity(nodeID: config.nodeID, clusterID: config.clusterID, version: WeirVersion.current)
        let health = NodeHealth(identity: identity, waitingFor: ["storage", "leader"])
        Gauge(label: "weir_build_info", dimensions: [("version", WeirVersion.current), ("node", "\(config.nodeID)")]).record(1)

        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let databasePath = StorageLayout.databasePath(dataDirectory: config.dataDirectory)
        let database = try Database(path: databasePath, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let dataDirectory = DataDirectory(database: database)
        try dataDirectory.claim(nodeID: config.nodeID, clusterID: config.clusterID, path: config.dataDirectory)
        let (secret, generated) = try dataDirectory.clusterSecret(configured: config.clusterSecret)
        if generated {
            logger.notice("cluster.secret is not set: using a secret generated for this single node; set the same cluster.secret on every node before adding peers")
        }
        health.met("storage")
        logger.info("storage open", metadata: ["path": "\(databasePath)"])

        let transport = try startTransport(secret: secret)
        let driver: RaftDriver
        do {
            driver = try makeRaftDriver(database: database, transport: transport, health: health)
        } catch {
            await transport.shutdown()
            throw error
        }
        let application = makeApplication(health: health)
        // Started in this order, stopped in reverse: HTTP stops first, the transport last.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: TransportService(transport: transport)),
                .init(service: RaftService(driver: driver)),
                .init(service: application),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(config.shutdownGraceMilliseconds)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await transport.shutdown()
            throw error
        }
        logger.info("node stopped")
    }

    private func startTransport(secret: [UInt8]) throws -> PeerTransport {
        var settings = TransportConfiguration(
            nodeID: PeerID(configuration.nodeID), clusterID: configuration.clusterID,
            clusterSecret: secret, listenAddress: configuration.peerListen)
        settings.payloadBytesMax = configuration.peerPayloadBytesMax
        let transport = try PeerTransport(configuration: settings, logger: logger)
        logger.info("peer transport listening", metadata: ["peer_port": "\(transport.listenPort)"])
        return transport
    }

    /// Bootstraps a fresh node's membership — itself plus every node in `peer.peers`, the
    /// static initial cluster — and starts the Raft driver over the database.
    private func makeRaftDriver(database: Database, transport: PeerTransport, health: NodeHealth) throws -> RaftDriver {
        let config = configuration
        if try RaftDriver.needsBootstrap(database) {
            let advertise = config.peerAdvertise ?? Self.advertised(listen: config.peerListen, port: transport.listenPort)
            var addresses = config.peers
            addresses[config.nodeID] = advertise
            let voters = addresses.keys.sorted()
            try RaftDriver.bootstrap(database, voters: voters, addresses: addresses)
            logger.notice("bootstrapped a new cluster", metadata: ["voters": "\(voters)", "advertise": "\(advertise)"])
        }
        return try RaftDriver(
            configuration: RaftDriverConfiguration(nodeID: config.nodeID, randomSeed: UInt64.random(in: 1...UInt64.max)),
            database: database, transport: transport, machine: MembershipOnlyStateMachine(), logger: logger,
            onLeaderChange: { leader in
                if leader == 0 { health.unmet("leader") } else { health.met("leader") }
            })
    }

    /// `tcp://host:0` with the port the listener actually bound.
    static func advertised(listen: String, port: Int) -> String {
        guard let colon = listen.lastIndex(of: ":") else { return listen }
        return "\(listen[..<colon]):\(port)"
    }

    private func makeApplication(health: NodeHealth) -> some Service {
        let router = Router()
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(LogRequestsMiddleware(.debug))
        HealthRoutes(status: health).register(on: router)
        MetricsRoutes(exporter: metrics).register(on: router)
        let logger = self.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "weir"),
            onServerRunning: { channel in
                logger.info("http listening", metadata: ["http_port": "\(channel.localAddress?.port ?? 0)"])
            },
            logger: logger)
    }
}

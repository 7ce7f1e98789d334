import AsyncHTTPClient
import Consensus
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
        let health = NodeHealth(identity: identity, waitingFor: ["storage", "leader", CatchUpWatch.condition])
        Gauge(label: "weir_build_info", dimensions: [("version", WeirVersion.current), ("node", "\(config.nodeID)")]).record(1)

        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let databasePath = StorageLayout.databasePath(dataDirectory: config.dataDirectory)
        let database = try Database(path: databasePath, columnFamilies: StorageLayout.all)
        defer { database.close() }
        let dataDirectory = DataDirectory(database: database)
        try dataDirectory.claim(nodeID: config.nodeID, clusterID: config.clusterID, path: config.dataDirectory)
        let (secret, generated) = try dataDirectory.clusterSecret(configured: config.clusterSecret)
        try dataDirectory.refuseIfReplaced()
        // A new data directory of a node that is not alone may be an old id reborn (a wiped
        // disk): recorded before anything else, so a failed first start keeps it.
        if try !dataDirectory.hasIncarnation(), !(config.peers.isEmpty && config.joinURL == nil) {
            try QuotaService.recordBirth(in: database)
        }
        let incarnation = try dataDirectory.incarnation()
        if generated {
            logger.notice("cluster.secret is not set: using a secret generated for this single node; set the same cluster.secret on every node before adding peers")
        }
        health.met("storage")
        logger.info("storage open", metadata: ["path": "\(databasePath)"])

        let kek = try KeyEncryptionKey.load(configured: config.kekFile, dataDirectory: config.dataDirectory, logger: logger)
        let acceptedKEK = try config.acceptedKEKFile.map { try KeyEncryptionKey.load(configured: $0, dataDirectory: config.dataDirectory, logger: self.logger) }
        let sealer = CredentialSealer(key: kek, accepted: acceptedKEK.map { [$0] } ?? [])
        let acceptedSecrets = config.acceptedClusterSecret.map { [Array($0.utf8)] } ?? []
        let transport = try startTransport(secret: secret, accepted: acceptedSecrets)
        let driver: RaftDriver
        let quota: QuotaService
        let machine: NodeStateMachine
        let policyStore = PolicyStore()
        do {
            let quotaService = try QuotaService(
                nodeID: config.nodeID, members: [], transport: transport, database: database,
                configuration: config.quota, logger: logger)
            let rejected = Counter(label: "weir_raft_entries_rejected_total", dimensions: [("node", "\(config.nodeID)")])
            let logger = self.logger
            machine = NodeStateMachine(
                onQuotaSchedule: { quotaService.setSchedule($0) },
                onQuotaReassignment: { quotaService.applyReassignment($0) },
                onQuotaAllocation: { quotaService.applyAllocations($0) },
                onRejection: { index, reason in
                    rejected.increment()
                    logger.error("rejected a committed entry it cannot apply", metadata: ["index": "\(index)", "reason": "\(reason)"])
                },
                policy: policyStore)
            driver = try await makeRaftDriver(
                database: database, transport: transport, secret: secret, incarnation: incarnation, machine: machine, health: health,
                onVotersChange: { quotaService.setMembers($0) })
            quotaService.setMembers(await driver.status.configuration.voters.sorted())
            // Done once this node has applied the entry, so its next ask sees what it got.
            quotaService.setAllocator { [driver, policyStore] requests in
                guard let index = try? await driver.propose(NodeStateMachine.quotaAllocationEntry(requests)) else { return false }
                return await policyStore.waitApplied(index, timeout: .seconds(1))
            }
            quota = quotaService
        } catch {
            await transport.shutdown()
            throw error
        }
        let publisher = QuotaMembershipPublisher(
            driver: driver, machine: machine, delayMilliseconds: config.quota.membershipDelayMilliseconds, logger: logger,
            now: QuotaService.wallClockMilliseconds)
        let usage: UsageRecorder
        do {
            usage = try UsageRecorder(
                database: database, nodeID: config.nodeID, logger: logger, retentionDays: config.usageRetentionDays,
                rollupRetentionDays: config.usageRollupRetentionDays)
        } catch {
            await transport.shutdown()
            throw error
        }
        let analytics = UsageQueryService(
            recorder: usage, transport: transport, members: { let view = await driver.membership; return view.voters + view.learners }, logger: logger)
        let inFlight = InFlightRequests(limit: config.httpLimits.inFlightMax)
        let operations = RaftClusterOperator(driver: driver, machine: machine, quota: quota)
        let clusterAdmin = ClusterAdminService(
            nodeID: config.nodeID, driver: driver, operations: operations, quota: quota, health: health, inFlight: inFlight, database: database,
            dataDirectory: config.dataDirectory, drainGraceMilliseconds: config.drainGraceMilliseconds,
            drainTimeoutMilliseconds: config.drainTimeoutMilliseconds, transport: transport, logger: logger)
        let logger = self.logger
        let router = PeerMessageRouter(
            transport: transport,
            routes: [
                (RaftDriver.messageTypes, { @Sendable in await driver.receive($0) }),
                (QuotaService.messageTypes, { @Sendable in quota.receive($0) }),
                (UsageQueryService.messageTypes, { @Sendable in analytics.receive($0) }),
                (ClusterAdminService.messageTypes, { @Sendable in clusterAdmin.receive($0) }),
            ],
            unrouted: { logger.debug("dropped a peer message of unknown type", metadata: ["type": "\($0.type)"]) })
        let policy = PolicyService(driver: driver, store: policyStore)
        let upstreamClient = DataPlaneRoutes<BasicRequestContext>.makeUpstreamClient(config.upstreamLimits)
        let providers = config.providersFromEnvironment
            ? try ProviderSeed.commands(environment: ProcessInfo.processInfo.environment, demoUpstream: config.demoUpstream, sealer: sealer)
            : []
        let bootstrap = AdminBootstrap(
            driver: driver, policy: policy, dataDirectory: config.dataDirectory, providers: providers, logger: logger, nodeID: config.nodeID)
        let console = ConsoleSessions(secret: secret)
        let application = makeApplication(
            health: health,
            admin: AdminRoutes(reader: policy, writer: policy, sealer: sealer, usage: analytics, cluster: clusterAdmin, sessions: console, logger: logger),
            dataPlane: DataPlaneRoutes(reader: policy, quota: quota, usage: config.usageRecording ? usage : DiscardingUsageSink(), sealer: sealer, client: upstreamClient, inFlight: inFlight,
                                     upstreamLimits: config.upstreamLimits, logger: logger),
            cluster: ClusterRoutes(
                cluster: operations, signature: ClusterSignature(secret: secret, accepted: acceptedSecrets)),
            console: console)
        // Started in this order, stopped in reverse: HTTP stops first, the transport last.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: TransportService(transport: transport)),
                .init(service: LoopService { await router.run() }),
                .init(service: LoopService { await driver.run() }),
                .init(service: LoopService { await quota.run() }),
                .init(service: LoopService { await publisher.run() }),
                .init(service: LoopService { await bootstrap.run() }),
                .init(service: IncarnationGuard(nodeID: config.nodeID, own: incarnation, operations: operations, dataDirectory: dataDirectory, logger: logger)),
                .init(service: CatchUpWatch(
                    driver: driver, health: health, lagMax: UInt64(config.raftReadyLagEntriesMax), logger: logger,
                    onFullyCaughtUp: { quota.reviewRebirth() })),
                .init(service: LoopService { await usage.run() }),
                .init(service: application),
                .init(service: ReadinessGate(health: health, grace: .milliseconds(config.drainGraceMilliseconds), logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(config.shutdownGraceMilliseconds)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            try? await upstreamClient.shutdown()
            await transport.shutdown()
            throw error
        }
        try? await upstreamClient.shutdown()
        logger.info("node stopped")
    }

    func startTransport(secret: [UInt8], accepted: [[UInt8]]) throws -> PeerTransport {
        var settings = TransportConfiguration(
            nodeID: PeerID(configuration.nodeID), clusterID: configuration.clusterID,
            clusterSecret: secret, listenAddress: configuration.peerListen)
        settings.payloadBytesMax = configuration.peerPayloadBytesMax
        settings.acceptedSecrets = accepted
        let transport = try PeerTransport(configuration: settings, logger: logger)
        logger.info("peer transport listening", metadata: ["peer_port": "\(transport.listenPort)"])
        return transport
    }

    private func makeApplication(
        health: NodeHealth, admin: AdminRoutes<BasicRequestContext>, dataPlane: DataPlaneRoutes<BasicRequestContext>,
        cluster: ClusterRoutes<BasicRequestContext>, console: ConsoleSessions
    ) -> some Service {
        let router = Router()
        router.middlewares.add(NodeHeaderMiddleware(nodeID: configuration.nodeID))
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(LogRequestsMiddleware(.debug))
        router.middlewares.add(ErrorDialectMiddleware())
        HealthRoutes(status: health).register(on: router)
        MetricsRoutes(exporter: metrics).register(on: router)
        cluster.register(on: router)
        admin.register(on: router)
        ConsoleRoutes(admin: admin, sessions: console).register(on: router)
        dataPlane.register(on: router)
        let logger = self.logger
        let limits = configuration.httpLimits, connections = ConnectionLimiter.Counter()
        return Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionLimiter(counter: connections, limits: limits)],
                idleTimeout: .seconds(Int64(limits.idleTimeoutSeconds)),
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: limits.headerBytesMax, maxHeaderListSize: limits.headerBytesMax,
                    maxHeaderFieldCount: HTTPServerLimits.headerFieldsMax))),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "weir"),
            onServerRunning: { channel in
                logger.info("http listening", metadata: ["http_port": "\(channel.localAddress?.port ?? 0)"])
            },
            logger: logger)
    }
}

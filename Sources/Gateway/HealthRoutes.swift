import Hummingbird
import NIOCore

/// `GET /health/live` and `GET /health/ready`, for load balancers and orchestrators.
///
/// Live answers 200 whenever the process serves HTTP. Ready answers 200 only when the node
/// should get traffic, and 503 with the unmet conditions otherwise, so a load balancer
/// checking it stops sending before the node stops serving.
public struct HealthRoutes<Context: RequestContext>: Sendable {
    let status: any NodeStatusProvider

    /// Routes answering from `status`.
    public init(status: any NodeStatusProvider) { self.status = status }

    /// Adds the routes to `router`.
    public func register(on router: Router<Context>) {
        let status = self.status
        router.get("/health/live") { _, _ in
            let identity = status.identity
            return JSONResponse(.ok, LiveBody(
                status: "live", node_id: identity.nodeID, cluster_id: identity.clusterID, version: identity.version))
        }
        router.get("/health/ready") { _, _ in
            let identity = status.identity
            let readiness = status.readiness()
            return JSONResponse(
                readiness.isReady ? .ok : .serviceUnavailable,
                ReadyBody(
                    status: readiness.isReady ? "ready" : "not_ready", node_id: identity.nodeID,
                    waiting_for: readiness.waitingFor, lag: readiness.lag))
        }
    }

    struct LiveBody: Encodable {
        let status: String
        let node_id: UInt64
        let cluster_id: String
        let version: String
    }

    struct ReadyBody: Encodable {
        let status: String
        let node_id: UInt64
        let waiting_for: [String]
        /// Entries behind the leader's commit index when the node last asked.
        let lag: UInt64?
    }
}

/// `GET /metrics`: Prometheus text exposition.
public struct MetricsRoutes<Context: RequestContext>: Sendable {
    let exporter: any MetricsExporter

    /// Routes serving `exporter`'s text.
    public init(exporter: any MetricsExporter) { self.exporter = exporter }

    /// Adds the route to `router`.
    public func register(on router: Router<Context>) {
        let exporter = self.exporter
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: exporter.prometheusText())))
        }
    }
}

import Gateway
import Node
import Testing

/// Readiness across a leader change: an election must not take the node out of the load
/// balancer, a long loss of the leader must.
@Suite struct NodeHealthTests {
    private func health() -> NodeHealth {
        NodeHealth(identity: NodeIdentity(nodeID: 1, clusterID: "c", version: "test"), waitingFor: ["leader"])
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("condition not met within 10 s"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    @Test func aNodeThatNeverKnewALeaderIsNotReady() {
        #expect(!health().readiness().isReady)
    }

    @Test func aLostLeaderIsForgivenForTheGraceAndNoLonger() async throws {
        let health = health()
        health.leaderChanged(known: true, grace: .milliseconds(200))
        #expect(health.readiness().isReady)
        health.leaderChanged(known: false, grace: .milliseconds(200))
        #expect(health.readiness().isReady, "ready during an election")
        try await waitUntil { !health.readiness().isReady }
        #expect(health.readiness().waitingFor == ["leader"])
    }

    @Test func aLeaderHeardOfWithinTheGraceKeepsTheNodeReady() async throws {
        let health = health()
        health.leaderChanged(known: true, grace: .milliseconds(100))
        health.leaderChanged(known: false, grace: .milliseconds(100))
        health.leaderChanged(known: true, grace: .milliseconds(100))
        // A later loss with its own, longer grace: the first timer must not fire for it.
        health.leaderChanged(known: false, grace: .seconds(60))
        try await Task.sleep(for: .milliseconds(300))
        #expect(health.readiness().isReady, "\(health.readiness().waitingFor)")
    }

    @Test func noGraceMeansUnreadyAtOnce() {
        let health = health()
        health.leaderChanged(known: true, grace: .zero)
        health.leaderChanged(known: false, grace: .zero)
        #expect(!health.readiness().isReady)
    }
}

import Gateway
import Policy

/// Policy reads and writes for the gateway, over the Raft driver and this node's
/// `PolicyStore`: writes go through the log (forwarded to the leader from a follower),
/// reads are local, and `catchUp()` is a ReadIndex round.
struct PolicyService: PolicyReader, PolicyWriter {
    /// The largest policy entry accepted (the admin API's body limit keeps well below it).
    static let entryBytesMax = 1 << 20
    /// How long a write or consistent read waits for this node to apply its entry.
    static let applyTimeout = Duration.seconds(10)

    let driver: RaftDriver
    let store: PolicyStore

    var current: PolicyState { store.current }

    func catchUp() async throws(PolicyAccessError) {
        let index: UInt64
        do {
            index = try await driver.readIndex()
        } catch {
            throw .unavailable("cannot confirm a consistent read: \(error)")
        }
        guard await store.waitApplied(index, timeout: Self.applyTimeout) else {
            throw .unavailable("this node has not applied index \(index) yet; retry, or read without consistent=true")
        }
    }

    func submit(_ entry: PolicyEntry) async throws(PolicyAccessError) -> PolicyOutcome {
        let bytes = NodeStateMachine.policyEntry(entry)
        guard bytes.count <= Self.entryBytesMax else {
            throw .refused(.invalid(field: "body", message: "the change is \(bytes.count) bytes; at most \(Self.entryBytesMax) fit in one entry"))
        }
        let index: UInt64
        do {
            index = try await driver.propose(bytes)
        } catch {
            throw .unavailable("the change was not committed: \(error)")
        }
        guard await store.waitApplied(index, timeout: Self.applyTimeout) else {
            throw .unavailable("the change committed at index \(index) but this node has not applied it yet; read it back before retrying")
        }
        switch store.outcome(at: index) {
        case let .success(outcome)?: return outcome
        case let .failure(error)?: throw .refused(error)
        case nil: throw .unavailable("the change committed at index \(index); its outcome is no longer kept here, read it back")
        }
    }
}

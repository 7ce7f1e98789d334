import SeededRandom
import Synchronization

/// One request as `mockllm` received it, for tests to inspect.
public struct RecordedRequest: Sendable {
    public var path: String
    public var model: String?
    public var stream: Bool
    /// The key presented (Bearer, x-api-key or api-key header), if any.
    public var apiKey: String?
    /// The body as received.
    public var body: String
}

/// The mutable part of the simulator: recorded requests, faults and their dice.
final class MockState: Sendable {
    private struct Inner {
        var recorded: [RecordedRequest] = []
        var faults: [Fault]
        var dice: SplitMix64
        var served = 0
    }

    private let inner: Mutex<Inner>

    init(faults: [Fault], seed: UInt64) {
        inner = Mutex(Inner(faults: faults, dice: SplitMix64(seed: seed)))
    }

    func record(_ request: RecordedRequest) {
        inner.withLock {
            $0.recorded.append(request)
            $0.served += 1
            if $0.recorded.count > MockOptions.recordedMax { $0.recorded.removeFirst($0.recorded.count - MockOptions.recordedMax) }
        }
    }

    var recorded: [RecordedRequest] { inner.withLock { $0.recorded } }
    var served: Int { inner.withLock { $0.served } }
    func clearRecorded() { inner.withLock { $0.recorded.removeAll() } }

    var faults: [Fault] { inner.withLock { $0.faults } }
    func add(_ fault: Fault) { inner.withLock { $0.faults.append(fault) } }
    func clearFaults() { inner.withLock { $0.faults.removeAll() } }

    /// The fault this request for `model` meets, if any; spends one of its count.
    func fault(for model: String?) -> Fault? {
        inner.withLock { state in
            for position in state.faults.indices {
                let fault = state.faults[position]
                guard fault.model == nil || fault.model == model else { continue }
                let roll = Double(state.dice.next() >> 11) / Double(1 << 53)
                guard roll < (fault.rate ?? 1) else { continue }
                if let count = fault.count {
                    if count <= 1 { state.faults.remove(at: position) } else { state.faults[position].count = count - 1 }
                }
                return fault
            }
            return nil
        }
    }
}

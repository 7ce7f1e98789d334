import SeededRandom
import Consensus

/// A lossy, reordering, partitionable network in virtual time. Every decision comes from
/// the simulation's seeded generator.
struct SimulatedNetwork {
    struct Envelope {
        let deliverAt: UInt64
        let sequence: UInt64
        let message: Message
    }

    /// Probability (per mille) that a message is lost.
    var lossPerMille = 0
    /// Probability (per mille) that a message is delivered twice.
    var duplicatePerMille = 0
    /// Delivery delay is drawn from `0...delayTicksMax` ticks (so messages reorder).
    var delayTicksMax: UInt64 = 0
    /// Probability (per mille) that a message is held up for `longDelayTicks` instead: longer
    /// than an election timeout, as a stalled socket buffer or a retransmission would.
    var longDelayPerMille = 0
    /// The range a long delay is drawn from.
    let longDelayTicks: ClosedRange<UInt64> = 20...60
    /// Directed links that are cut: (from, to).
    var cut: Set<Link> = []
    private(set) var inFlight: [Envelope] = []
    private var sequence: UInt64 = 0
    /// Messages in flight at most; more are dropped (a bounded queue, like a real one).
    let inFlightMax = 100_000

    struct Link: Hashable {
        let from: NodeID
        let to: NodeID
    }

    var isFaultFree: Bool { lossPerMille == 0 && duplicatePerMille == 0 && cut.isEmpty }

    enum SendResult { case queued, lost, cut }

    mutating func send(_ message: Message, now: UInt64, random: inout SplitMix64) -> SendResult {
        if cut.contains(Link(from: message.from, to: message.to)) { return .cut }
        if Int.random(in: 0..<1000, using: &random) < lossPerMille { return .lost }
        let copies = Int.random(in: 0..<1000, using: &random) < duplicatePerMille ? 2 : 1
        for _ in 0..<copies where inFlight.count < inFlightMax {
            var delay = delayTicksMax == 0 ? 0 : UInt64.random(in: 0...delayTicksMax, using: &random)
            if longDelayPerMille > 0 && Int.random(in: 0..<1000, using: &random) < longDelayPerMille {
                delay = UInt64.random(in: longDelayTicks, using: &random)
            }
            sequence += 1
            inFlight.append(Envelope(deliverAt: now + delay, sequence: sequence, message: message))
        }
        return .queued
    }

    /// Removes and returns the messages due at `now`, in delivery order.
    mutating func due(now: UInt64) -> [Message] {
        var due: [Envelope] = []
        var waiting: [Envelope] = []
        for envelope in inFlight {
            if envelope.deliverAt <= now { due.append(envelope) } else { waiting.append(envelope) }
        }
        inFlight = waiting
        return due.sorted { ($0.deliverAt, $0.sequence) < ($1.deliverAt, $1.sequence) }.map(\.message)
    }

    /// Puts `message` back to be delivered at `at` (its receiver is paused).
    mutating func hold(_ message: Message, until at: UInt64) {
        sequence += 1
        inFlight.append(Envelope(deliverAt: at, sequence: sequence, message: message))
    }

    /// Forgets every message to or from `id`: what a dead process had in its sockets is gone
    /// by the time an operator has noticed and acted.
    mutating func forget(_ id: NodeID) {
        inFlight.removeAll { $0.message.from == id || $0.message.to == id }
    }

    /// Heals every fault.
    mutating func heal() {
        lossPerMille = 0
        duplicatePerMille = 0
        longDelayPerMille = 0
        cut = []
    }
}

import SeededRandom
import Testing
@testable import Policy

/// `ChunkedArray` against a plain array: random appends, drops from the front and writes,
/// with copies taken along the way that must not change when the original does. Seeds
/// from two far-apart ranges; a failure names its seed.
struct ChunkedArrayTests {
    static let seeds: [UInt64] = Array(1...20) + Array(7_000_000_001...7_000_000_005)

    @Test(arguments: seeds) func behavesAsAnArrayAndCopiesStayApart(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var chunked = ChunkedArray<Int>()
        var model: [Int] = []
        var copies: [(ChunkedArray<Int>, [Int])] = []
        for step in 0..<3_000 {
            switch rng.next() % 20 {
            case 0:
                let k = Int(rng.next() % UInt64(model.count + 3))
                chunked.removeFirst(k)
                model.removeFirst(min(k, model.count))
            case 1 where !model.isEmpty:
                let at = Int(rng.next() % UInt64(model.count))
                chunked[at] = -step
                model[at] = -step
            case 2:
                copies.append((chunked, model))
            default:
                for _ in 0..<Int(rng.next() % 700) {
                    chunked.append(step)
                    model.append(step)
                }
            }
            #expect(chunked.count == model.count, "seed \(seed), step \(step)")
        }
        #expect(Array(chunked) == model, "seed \(seed)")
        if let probe = model.indices.randomElement(using: &rng) { #expect(chunked[probe] == model[probe], "seed \(seed)") }
        for (copy, expected) in copies { #expect(Array(copy) == expected, "seed \(seed): a copy changed with the original") }
    }

    @Test func droppingEverythingLeavesAnEmptyArrayThatGrowsAgain() {
        var chunked = ChunkedArray(0..<3_000)
        chunked.removeFirst(5_000)
        #expect(chunked.isEmpty)
        chunked.append(7)
        #expect(Array(chunked) == [7])
        chunked.removeFirst(-3)
        #expect(chunked.count == 1)
    }
}

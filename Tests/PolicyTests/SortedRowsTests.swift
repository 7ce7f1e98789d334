import SeededRandom
import Testing
@testable import Policy

/// `SortedRows` against a sorted array: random inserts, removes and text changes with
/// chunks of 2 to 8 rows (so they split and empty often), then every look-up. Copies
/// taken along the way must not change. Seeds from two far-apart ranges.
struct SortedRowsTests {
    static let seeds: [UInt64] = Array(1...20) + Array(5_000_000_001...5_000_000_005)

    @Test(arguments: seeds) func behavesAsASortedArray(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let capacity = 2 + Int(rng.next() % 15)
        var rows = SortedRows(chunkCapacityMax: capacity)
        var model: [(id: String, text: [UInt8])] = []
        var copies: [(SortedRows, [String])] = []
        for step in 0..<1_500 {
            let id = "id\(rng.next() % 400)"
            let existing = model.firstIndex { $0.id == id }
            switch (rng.next() % 10, existing) {
            case (0...1, let at?):
                rows.remove(at: rows.position(of: id) ?? -1)
                model.remove(at: at)
            case (2, let at?):
                rows.setText([UInt8(step % 251)], at: rows.position(of: id) ?? -1)
                model[at].text = [UInt8(step % 251)]
            case (3, _):
                copies.append((rows, model.map(\.id)))
            case (_, nil):
                rows.insert(SortedRows.Row(id: id, text: [UInt8(step % 251)]))
                model.append((id, [UInt8(step % 251)]))
                model.sort { $0.id < $1.id }
            default:
                break
            }
            #expect(rows.count == model.count, "seed \(seed), step \(step)")
        }
        var walked: [(String, [UInt8])] = []
        rows.walk(from: 0) { walked.append(($0.id, $0.text)); return true }
        #expect(walked.map(\.0) == model.map(\.id), "seed \(seed)")
        #expect(walked.map(\.1) == model.map(\.text), "seed \(seed)")
        for probe in 0..<420 {
            let id = "id\(probe)"
            #expect(rows.firstPosition(notBelow: id) == (model.firstIndex { $0.id >= id } ?? model.count), "seed \(seed), \(id)")
            #expect(rows.firstPosition(above: id) == (model.firstIndex { $0.id > id } ?? model.count), "seed \(seed), \(id)")
            #expect(rows.position(of: id) == model.firstIndex { $0.id == id }, "seed \(seed), \(id)")
        }
        for (position, row) in model.enumerated() { #expect(rows[position].id == row.id, "seed \(seed), position \(position)") }
        var tail: [String] = []
        rows.walk(from: model.count / 2) { tail.append($0.id); return tail.count < 5 }
        #expect(tail == Array(model.map(\.id).dropFirst(model.count / 2).prefix(5)), "seed \(seed)")
        for (copy, expected) in copies {
            var ids: [String] = []
            copy.walk(from: 0) { ids.append($0.id); return true }
            #expect(ids == expected, "seed \(seed): a copy changed with the original")
        }
    }
}

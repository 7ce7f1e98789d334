import SeededRandom
import Testing
@testable import Policy

/// The table's sorted id index against a naive model (sort every id, filter, cut): random
/// puts and removes over a small id space, then every page walked with its cursors, also
/// from cursors that name no record. Seeds from two far-apart ranges.
@Suite struct RecordTableTests {
    static let seeds: [UInt64] = Array(1...30) + Array(7_000_000_001...7_000_000_010)

    @Test(arguments: seeds) func pagesMatchANaiveSortAndFilter(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var table = RecordTable<User>()
        var model: [String: User] = [:]
        let ids = (0..<60).map { "user:" + String(repeating: "é", count: $0 % 3) + "\($0 * 7919 % 100)" }
        for step in 0..<600 {
            let id = ids[Int(rng.next() % UInt64(ids.count))]
            if rng.next() % 4 == 0 {
                table.remove(id)
                model[id] = nil
            } else {
                let user = User(id: id, displayName: "n\(step)", email: nil, status: rng.next() % 2 == 0 ? .active : .disabled,
                                role: .member, organization: nil, created: .pending, updated: .pending)
                table.put(user, stamp: AuditStamp(actor: "t", at: Int64(step), index: UInt64(step)))
                model[id] = model[id].map { old in var kept = user; kept.created = old.created; return kept } ?? user
            }
            if step % 50 == 49 { try compare(table, model, seed: seed, rng: &rng) }
        }
        var restored = RecordTable<User>()
        restored.restore(Array(table.values))
        try compare(restored, model, seed: seed, rng: &rng)
    }

    private func compare(_ table: RecordTable<User>, _ model: [String: User], seed: UInt64, rng: inout SplitMix64) throws {
        let limit = Int(rng.next() % 7) + 1
        let activeOnly = rng.next() % 2 == 0
        let expected = model.keys.sorted().filter { !activeOnly || model[$0]!.status == .active }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try table.page(try PageRequest(cursor: cursor, limit: limit)) { !activeOnly || $0.status == .active }
            seen += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil && seen.count <= model.count
        #expect(seen == expected, "seed \(seed): replay with `swift test --filter RecordTableTests`")
        #expect(table.count == model.count)
        // A cursor naming an id that is not (or no longer) in the table starts just after it.
        let probe = "user:" + String(rng.next() % 100)
        let after = try table.page(try PageRequest(cursor: PageCursor.encode(text: probe), limit: 500)) { _ in true }
        #expect(after.items.map(\.id) == model.keys.sorted().filter { $0 > probe }, "seed \(seed), cursor after \(probe)")
    }

    /// The first page of 50 and a page deep in the table, at 45,000 users (printed, not
    /// asserted: a loaded machine stretches times).
    @Test func aPageAtFortyFiveThousandUsersDoesNotSortTheTable() throws {
        var table = RecordTable<User>()
        var records: [User] = []
        for n in 0..<45_000 {
            records.append(User(id: "user:p\(n)", displayName: "P \(n)", email: nil, status: .active, role: .member, organization: nil,
                                created: .pending, updated: .pending))
        }
        table.restore(records)
        let clock = ContinuousClock()
        let start = clock.now
        let first = try table.page(try PageRequest(limit: 50)) { _ in true }
        let deep = try table.page(try PageRequest(cursor: PageCursor.encode(text: "user:p40000"), limit: 50)) { _ in true }
        let took = clock.now - start
        #expect(first.items.count == 50 && deep.items.count == 50 && deep.items[0].id > "user:p40000")
        print("record table: two pages of 50 at 45,000 users in \(took)")
    }
}

/// A table's ids in ascending order, each with its folded search text, held in chunks of
/// at most `chunkCapacityMax` rows, for the pages that walk every id.
///
/// One flat array per table was copied whole (a pointer and a retain per record: 20 ms at
/// 100k users) by the first write after a reader took a copy of the state, on the Raft
/// thread. A write here copies the list of chunks and the one chunk it changes.
/// Positions count from 0 across all chunks, as in one array.
struct SortedRows: Sendable {
    struct Row: Sendable {
        var id: String
        /// `SearchText.folded` of the record's search fields (empty when it has none).
        var text: [UInt8]
    }

    /// A chunk that grows past this splits in two (tests lower it to split often).
    let chunkCapacityMax: Int

    private var chunks: [[Row]] = []
    /// The position of the first row of each chunk.
    private var starts: [Int] = []
    private(set) var count = 0

    init(chunkCapacityMax: Int = 1_024) { self.chunkCapacityMax = max(2, chunkCapacityMax) }

    /// Rows whose ids ascend, as given, in chunks half full.
    init(sorted rows: some Sequence<Row>, chunkCapacityMax: Int = 1_024) {
        self.init(chunkCapacityMax: chunkCapacityMax)
        for row in rows {
            if chunks.isEmpty || chunks[chunks.count - 1].count == self.chunkCapacityMax / 2 {
                starts.append(count)
                chunks.append([])
            }
            chunks[chunks.count - 1].append(row)
            count += 1
        }
    }

    subscript(position: Int) -> Row {
        let (chunk, offset) = locate(position)
        return chunks[chunk][offset]
    }

    /// The position of the first id ≥ `id` (`count` when none).
    func firstPosition(notBelow id: String) -> Int { firstPosition { $0 >= id } }

    /// The position of the first id > `id` (`count` when none).
    func firstPosition(above id: String) -> Int { firstPosition { $0 > id } }

    /// Where `id` is. Binary search finds it unless the table holds ids of mixed Unicode
    /// normal forms (only data from before new ids had to be in form C), which Swift does
    /// not order consistently; then a walk of every row does.
    func position(of id: String) -> Int? {
        let at = firstPosition(notBelow: id)
        if at < count && self[at].id == id { return at }
        var position = 0
        var found: Int?
        walk(from: 0) { row in
            if row.id == id { found = position }
            position += 1
            return found == nil
        }
        return found
    }

    /// Calls `body` with each row from `position` on, in order, while it returns true.
    func walk(from position: Int, _ body: (Row) -> Bool) {
        guard position < count else { return }
        var (chunk, offset) = locate(position)
        while chunk < chunks.count {
            for row in chunks[chunk][offset...] where !body(row) { return }
            chunk += 1
            offset = 0
        }
    }

    /// Inserts `row` at its place in id order.
    mutating func insert(_ row: Row) {
        guard !chunks.isEmpty else { return self = SortedRows(sorted: [row], chunkCapacityMax: chunkCapacityMax) }
        let position = firstPosition(notBelow: row.id)
        // The chunk holding `position`, or the last one when the row goes at the end.
        let (chunk, offset) = position == count ? (chunks.count - 1, chunks[chunks.count - 1].count) : locate(position)
        chunks[chunk].insert(row, at: offset)
        count += 1
        if chunks[chunk].count > chunkCapacityMax {
            let half = chunks[chunk].count / 2
            let tail = Array(chunks[chunk][half...])
            chunks[chunk].removeSubrange(half...)
            chunks.insert(tail, at: chunk + 1)
            starts.insert(0, at: chunk + 1)
        }
        recount(from: chunk)
    }

    mutating func remove(at position: Int) {
        var (chunk, offset) = locate(position)
        chunks[chunk].remove(at: offset)
        count -= 1
        // A chunk a quarter full joins a neighbour that has room, so that deletes do not
        // leave a long list of tiny chunks (every insert restates the starts after it).
        if chunks[chunk].count < chunkCapacityMax / 4 {
            if chunk > 0 && chunks[chunk - 1].count + chunks[chunk].count <= chunkCapacityMax { chunk -= 1 }
            if chunk + 1 < chunks.count && chunks[chunk].count + chunks[chunk + 1].count <= chunkCapacityMax {
                chunks[chunk] += chunks[chunk + 1]
                chunks.remove(at: chunk + 1)
                starts.remove(at: chunk + 1)
            }
        }
        if chunks[chunk].isEmpty {
            chunks.remove(at: chunk)
            starts.remove(at: chunk)
        }
        recount(from: chunk)
    }

    mutating func setText(_ text: [UInt8], at position: Int) {
        let (chunk, offset) = locate(position)
        chunks[chunk][offset].text = text
    }

    /// The chunk holding `position` (0 ≤ position < count) and the offset in it. Every
    /// position passed here comes from this structure's own searches (`firstPosition`,
    /// `position(of:)`, `walk`'s bound check); out of range is a programmer error.
    private func locate(_ position: Int) -> (Int, Int) {
        precondition(position >= 0 && position < count, "SortedRows position \(position) out of 0..<\(count)")
        var low = 0, high = starts.count - 1  // the last chunk whose start ≤ position
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= position { low = middle } else { high = middle - 1 }
        }
        return (low, position - starts[low])
    }

    /// The first position whose id `isAtOrPast` accepts, in rows ascending by id.
    private func firstPosition(_ isAtOrPast: (String) -> Bool) -> Int {
        // The first chunk whose last id is accepted; the answer is in it.
        var low = 0, high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if let last = chunks[middle].last, isAtOrPast(last.id) { high = middle } else { low = middle + 1 }
        }
        guard low < chunks.count else { return count }
        let rows = chunks[low]
        var first = 0, end = rows.count
        while first < end {
            let middle = (first + end) / 2
            if isAtOrPast(rows[middle].id) { end = middle } else { first = middle + 1 }
        }
        return starts[low] + first
    }

    /// Restates the starts of the chunks from `chunk` on.
    private mutating func recount(from chunk: Int) {
        var start = chunk == 0 ? 0 : starts[chunk - 1] + chunks[chunk - 1].count
        for index in chunk..<chunks.count {
            starts[index] = start
            start += chunks[index].count
        }
    }
}

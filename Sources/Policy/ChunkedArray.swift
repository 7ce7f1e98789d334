/// An append-only array held in chunks of `chunkCapacity` elements, for the policy's
/// revisions and audit history, which grow to hundreds of thousands of elements.
///
/// Its point is what a copy costs. Every reader of the policy (a request, a snapshot being
/// encoded) holds a copy of the state; the next entry the Raft thread applies then finds
/// the storage shared. A plain array is copied whole at that moment (every element, every
/// string retained: tens of milliseconds at 500k revisions, on the Raft thread), this one
/// copies its list of chunks and the one chunk it appends to.
public struct ChunkedArray<Element> {
    /// Elements per chunk: a shared chunk copied on append costs at most this many.
    static var chunkCapacity: Int { 1_024 }

    private var chunks: [[Element]] = []
    /// Elements dropped from the front of `chunks[0]` (`removeFirst`).
    private var head = 0
    public private(set) var count = 0

    public init() {}

    public init(_ elements: some Sequence<Element>) {
        for element in elements { append(element) }
    }

    public mutating func append(_ element: Element) {
        // A new chunk grows as an array does, so the many short lists (one per subject
        // in the revision index) cost what an array of theirs would.
        if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkCapacity { chunks.append([]) }
        chunks[chunks.count - 1].append(element)
        count += 1
    }

    /// Drops the first `k` elements (at most `count`); indices count from the new first.
    public mutating func removeFirst(_ k: Int) {
        let dropped = Swift.min(Swift.max(0, k), count)
        head += dropped
        count -= dropped
        while let first = chunks.first, head >= first.count {
            head -= first.count
            chunks.removeFirst()
        }
        if chunks.isEmpty { head = 0 }
    }
}

extension ChunkedArray: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    /// The element at `position`. Positions come from the state's own indexes and from
    /// bounds-checked cursors, never from a request as such; out of range is a programmer
    /// error and traps, as an array's would (without the check, a negative position after
    /// `removeFirst` would read a dropped element).
    public subscript(position: Int) -> Element {
        precondition(position >= 0 && position < count, "ChunkedArray index \(position) out of 0..<\(count)")
        let offset = position + head
        return chunks[offset / Self.chunkCapacity][offset % Self.chunkCapacity]
    }
}

extension ChunkedArray: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: Element...) { self.init(elements) }
}

extension ChunkedArray: Equatable where Element: Equatable {
    public static func == (a: ChunkedArray, b: ChunkedArray) -> Bool { a.elementsEqual(b) }
}

extension ChunkedArray: Sendable where Element: Sendable {}

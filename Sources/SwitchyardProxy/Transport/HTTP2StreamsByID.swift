import NIOHTTP2

/// One connection's open streams by ID, for ``HTTP2StreamTable``. Most connections have a few
/// streams open at a time (one, for a client that opens a connection per concurrent request),
/// and finding one of a few IDs in a short array costs less than hashing one: a dictionary's
/// insert, lookup and removal of each stream were about 1.3 % of an h2c request's time at 16
/// connections of one stream each (issue 12's profiles). So up to ``listedLimit`` streams are
/// listed in an array; a connection that opens more moves them all into a dictionary, where
/// they stay until none is open, so a busy connection never searches a long list.
struct HTTP2StreamsByID<Stream: AnyObject> {
    /// The most streams the array holds.
    static var listedLimit: Int { 8 }

    private var listed: [(id: HTTP2StreamID, stream: Stream)] = []
    private var hashed: [HTTP2StreamID: Stream]?

    /// How many streams are open.
    var count: Int { hashed?.count ?? listed.count }

    subscript(id: HTTP2StreamID) -> Stream? {
        get {
            if let hashed { return hashed[id] }
            for entry in listed where entry.id == id { return entry.stream }
            return nil
        }
        set {
            guard let stream = newValue else {
                _ = remove(id)
                return
            }
            if hashed != nil {
                hashed?[id] = stream
            } else if let index = listed.firstIndex(where: { $0.id == id }) {
                listed[index].stream = stream
            } else if listed.count < Self.listedLimit {
                listed.append((id, stream))
            } else {
                var all = [HTTP2StreamID: Stream](minimumCapacity: 2 * Self.listedLimit)
                for entry in listed { all[entry.id] = entry.stream }
                all[id] = stream
                hashed = all
                listed.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Takes the stream with `id` out, if it is here.
    mutating func remove(_ id: HTTP2StreamID) -> Stream? {
        if hashed != nil {
            let stream = hashed?.removeValue(forKey: id)
            if hashed?.isEmpty == true { hashed = nil }
            return stream
        }
        guard let index = listed.firstIndex(where: { $0.id == id }) else { return nil }
        return listed.swapRemove(at: index).stream
    }

    /// Takes out every stream that satisfies `condition`.
    mutating func remove(where condition: (HTTP2StreamID, Stream) -> Bool) -> [Stream] {
        let chosen = filter(condition)
        for (id, _) in chosen { _ = remove(id) }
        return chosen.map(\.stream)
    }

    /// Takes out every stream.
    mutating func removeAll() -> [Stream] {
        let all = hashed.map { Array($0.values) } ?? listed.map(\.stream)
        listed.removeAll()
        hashed = nil
        return all
    }

    /// Calls `body` with every stream.
    func forEach(_ body: (Stream) throws -> Void) rethrows {
        if let hashed {
            for stream in hashed.values { try body(stream) }
        } else {
            for entry in listed { try body(entry.stream) }
        }
    }

    private func filter(_ condition: (HTTP2StreamID, Stream) -> Bool) -> [(id: HTTP2StreamID, stream: Stream)] {
        if let hashed { return hashed.filter { condition($0.key, $0.value) }.map { (id: $0.key, stream: $0.value) } }
        return listed.filter { condition($0.id, $0.stream) }
    }
}

extension Array {
    /// Removes the element at `index` by moving the last one into its place: O(1), and the
    /// order of the rest changes.
    fileprivate mutating func swapRemove(at index: Int) -> Element {
        swapAt(index, count - 1)
        return removeLast()
    }
}

/// Offset arithmetic: where logical bytes live, and how sizes translate.
extension Distribution {
    /// A run of logical bytes that sits contiguously in one datafile, as the
    /// distribution's mapping makes them.
    public struct Piece: Sendable, Hashable {
        /// The datafile (index in the file's list).
        public var datafile: Int
        /// Offset within the datafile.
        public var physicalOffset: UInt64
        /// Offset within the file.
        public var logicalOffset: UInt64
        /// How many bytes.
        public var length: UInt64
    }

    /// The largest logical offset the arithmetic accepts (2^62).
    public static let maximumOffset: UInt64 = 1 << 62

    /// The datafile and physical offset of logical byte `offset`.
    public func locate(_ offset: UInt64) -> (datafile: Int, physical: UInt64) {
        let cycle = offset / cycleBytes
        let within = offset % cycleBytes
        let strip = stripIndex(containing: within)
        return (strip, cycle * stripSizesBytes[strip] + (within - stripStart(strip)))
    }

    /// The logical offset of byte `physical` of datafile `datafile`.
    public func logicalOffset(datafile: Int, physical: UInt64) -> UInt64 {
        let size = stripSizesBytes[datafile]
        return (physical / size) * cycleBytes + stripStart(datafile) + physical % size
    }

    /// Splits `length` bytes from `offset` into pieces, one per strip touched,
    /// in logical order.
    public func pieces(offset: UInt64, length: UInt64) throws -> [Piece] {
        guard offset <= Self.maximumOffset, length <= Self.maximumOffset - offset else {
            throw DistributionError("bytes \(offset) + \(length) are beyond the largest offset \(Self.maximumOffset)")
        }
        var pieces: [Piece] = []
        var cursor = offset
        let end = offset + length
        while cursor < end {
            let (datafile, physical) = locate(cursor)
            let size = stripSizesBytes[datafile]
            let run = min(size - physical % size, end - cursor)
            if let last = pieces.last, last.datafile == datafile, last.physicalOffset + last.length == physical {
                pieces[pieces.count - 1].length += run
            } else {
                pieces.append(Piece(datafile: datafile, physicalOffset: physical, logicalOffset: cursor, length: run))
            }
            cursor += run
        }
        return pieces
    }

    /// The bytes of datafile `datafile` that lie below logical size `size`:
    /// the datafile's length in a file of that size.
    public func datafileSize(forLogicalSize size: UInt64, datafile: Int) -> UInt64 {
        let strip = stripSizesBytes[datafile]
        let cycles = size / cycleBytes
        let within = size % cycleBytes
        let start = stripStart(datafile)
        let partial = within <= start ? 0 : min(within - start, strip)
        return cycles * strip + partial
    }

    /// The file's logical size from its datafiles' lengths: one past the
    /// highest logical byte any of them holds.
    public func logicalSize(datafileSizes: [UInt64]) -> UInt64 {
        var size: UInt64 = 0
        for (datafile, length) in datafileSizes.enumerated() where length > 0 && datafile < datafileCount {
            size = max(size, logicalOffset(datafile: datafile, physical: length - 1) + 1)
        }
        return size
    }

    private func stripStart(_ strip: Int) -> UInt64 {
        kind == .simpleStripe ? UInt64(strip) * stripSizesBytes[0] : stripStarts[strip]
    }

    private func stripIndex(containing within: UInt64) -> Int {
        if kind == .simpleStripe { return Int(within / stripSizesBytes[0]) }
        // The last strip start at or below `within`.
        var low = 0
        var high = stripStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if stripStarts[middle] <= within { low = middle } else { high = middle - 1 }
        }
        return low
    }
}

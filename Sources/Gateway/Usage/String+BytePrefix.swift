extension String {
    /// The longest prefix of at most `bytesMax` UTF-8 bytes that ends on a scalar boundary.
    /// A prefix in characters bounds nothing: one character may carry any number of
    /// combining marks, so stored client strings are cut in bytes.
    func prefix(bytes bytesMax: Int) -> String {
        let utf8 = self.utf8
        guard utf8.count > bytesMax else { return self }
        var end = utf8.index(utf8.startIndex, offsetBy: max(0, bytesMax))
        // Step back over continuation bytes (10xxxxxx) to the start of a scalar.
        while end > utf8.startIndex && utf8[end] & 0xC0 == 0x80 { end = utf8.index(before: end) }
        return String(Substring(utf8[..<end]))
    }
}

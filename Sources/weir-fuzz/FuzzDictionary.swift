/// libFuzzer dictionaries (`-dict=`): tokens the mutator splices into inputs. For JSON
/// formats, every string literal of the seeds (keys and enum values) and the literals of
/// the grammar: without them, byte mutations rarely spell a key the decoder knows.
enum FuzzDictionary {
    /// The most distinct strings taken from the seeds.
    static let stringsMax = 1_000
    /// Strings longer than this are values, not vocabulary, and are left out.
    static let stringBytesMax = 40

    static func entries(fromJSON seeds: [[UInt8]]) -> [String] {
        var strings: Set<[UInt8]> = []
        for seed in seeds {
            var index = 0
            while index < seed.count, strings.count < stringsMax {
                guard seed[index] == UInt8(ascii: "\""), let end = closingQuote(in: seed, after: index) else {
                    index += 1
                    continue
                }
                let literal = Array(seed[index...end])
                if literal.count <= stringBytesMax { strings.insert(literal) }
                index = end + 1
            }
        }
        let grammar = ["{", "}", "[", "]", ":", ",", "true", "false", "null", "0", "-1", "1.5", "1e300", "1e309",
                       "9223372036854775807", "9223372036854775808"]
        return grammar.map { quoted(Array($0.utf8)) } + strings.sorted { $0.lexicographicallyPrecedes($1) }.map(quoted)
    }

    /// The index of the quote that closes the string opening at `start`.
    private static func closingQuote(in bytes: [UInt8], after start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index
            default: index += 1
            }
        }
        return nil
    }

    /// A dictionary line: the token in quotes, with quotes, backslashes and bytes outside
    /// printable ASCII escaped as libFuzzer reads them.
    private static func quoted(_ token: [UInt8]) -> String {
        let body = token.map { byte -> String in
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): "\\\(Character(Unicode.Scalar(byte)))"
            case 0x20..<0x7F: String(Character(Unicode.Scalar(byte)))
            default: "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return "\"" + body.joined() + "\""
    }
}

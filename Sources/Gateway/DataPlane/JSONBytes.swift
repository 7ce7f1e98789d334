import Foundation

/// JSON bytes of the values `JSONSerialization` decodes (and of the dictionaries the gateway
/// builds from them), written directly: no validity pass, no bridging of each dictionary to
/// Foundation, no dynamic cast per scalar beyond one switch. Used where a request body must
/// be encoded anew (DLP changed it, or it was translated to another dialect), where the
/// Foundation round trip cost a fifth of a request.
///
/// It answers nil for anything it does not write exactly (a decimal whose text is no JSON
/// number, a non-finite double, a type outside JSON); the caller then uses
/// `JSONField.encode`.
enum JSONBytes {
    /// Nesting beyond this is left to `JSONField.encode` (which has its own limit): the
    /// writer recurses.
    static let depthMax = 256

    static func encode(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(1_024)
        return write(value, into: &out, depth: 0) ? out : nil
    }

    private static func write(_ value: Any, into out: inout [UInt8], depth: Int) -> Bool {
        guard depth < depthMax else { return false }
        switch value {
        case let text as String:
            out += JSONMembers.encodeString(text)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in object {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                out += JSONMembers.encodeString(key)
                out.append(UInt8(ascii: ":"))
                guard write(member, into: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let list as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in list.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard write(element, into: &out, depth: depth + 1) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out += "null".utf8
        case let number as NSNumber:  // what JSONSerialization decodes; before the native cases
            guard let text = Self.number(number) else { return false }
            out += text.utf8
        case let flag as Bool: out += (flag ? "true" : "false").utf8
        case let integer as Int: out += String(integer).utf8
        case let integer as Int64: out += String(integer).utf8
        case let integer as UInt64: out += String(integer).utf8
        case let double as Double:
            guard let text = Self.double(double) else { return false }
            out += text.utf8
        default:
            return false
        }
        return true
    }

    /// A number's JSON text, nil for one this writer does not render exactly.
    private static func number(_ number: NSNumber) -> String? {
        if number is NSDecimalNumber {
            // Long numbers decode as decimals: their own text, when it is a JSON number.
            let text = Array(number.stringValue.utf8)
            return StrictJSONScan.numberEnd(text, 0) == text.count ? String(decoding: text, as: UTF8.self) : nil
        }
        switch String(cString: number.objCType) {
        case "c", "B": return number.boolValue ? "true" : "false"  // JSONSerialization's booleans (`JSONField.isBoolean`)
        case "s", "i", "l", "q": return String(number.int64Value)
        case "C", "S", "I", "L", "Q": return String(number.uint64Value)
        case "f", "d": return double(number.doubleValue)
        default: return nil
        }
    }

    /// A finite double's JSON text: whole ones without a fraction, as JSONSerialization
    /// writes them; others in Swift's shortest form that reads back exactly.
    private static func double(_ double: Double) -> String? {
        guard double.isFinite else { return nil }
        if double == double.rounded(), abs(double) < 1e15 { return String(Int64(double)) }
        return "\(double)"
    }
}

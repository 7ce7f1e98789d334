import Foundation
import NIOCore
import SeededRandom
import Testing
@testable import Gateway

/// The byte scanner that lets the gateway forward a client's body with surgical edits: on
/// every object a JSON parser accepts, it finds exactly the parser's members, and its edits
/// parse to the object with the edits applied; on anything else it answers nil or a
/// result the caller never trusts blindly, and never traps.
@Suite struct JSONMembersTests {
    /// Seeds near 1 and a run of them far away: nothing may hold only where it was tried.
    static let seeds: [UInt64] = Array(1...300) + Array(9_000_000_001...9_000_000_100)

    @Test func itFindsWhatAParserFindsAndEditsExactly() throws {
        for seed in Self.seeds {
            var random = SplitMix64(seed: seed)
            let object = Self.object(depth: 0, &random)
            let bytes = Self.encode(object, &random)
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary, "seed \(seed)")
            guard let members = JSONMembers(bytes) else {
                Issue.record("seed \(seed): the scanner declined a plain object: \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            #expect(members.members.count == parsed.count, "seed \(seed)")
            for member in members.members {
                let key = String(decoding: member.key, as: UTF8.self)
                let value = try JSONSerialization.jsonObject(with: Data(bytes[member.value]), options: .fragmentsAllowed)
                #expect((parsed[key] as? NSObject) == (value as? NSObject), "seed \(seed): member \(key)")
            }
            // Set the model (present or not), the stream flag and the stream options.
            let model = "m\"o\\d\u{1}é-\(seed)"
            let edited = members.setting([
                ("model", JSONMembers.encodeString(model)), ("stream", Array("true".utf8)), ("stream_options", Array(#"{"include_usage":true}"#.utf8)),
            ])
            let result = try #require(try JSONSerialization.jsonObject(with: Data(edited)) as? [String: Any], "seed \(seed): \(String(decoding: edited, as: UTF8.self))")
            var expected = parsed as! [String: Any]
            expected["model"] = model
            expected["stream"] = true
            expected["stream_options"] = ["include_usage": true]
            #expect(NSDictionary(dictionary: result) == NSDictionary(dictionary: expected), "seed \(seed)")
        }
    }

    @Test func keysThatParsersMightReadDifferentlyAreDeclined() {
        for text in [
            #"{"model":"a","model":"b"}"#,  // which one wins differs between parsers
            #"{"mod\u0065l":"a"}"#,  // an escape in a key
            #"{"a":1,}"#, #"{"a":1"#, #"{"a" 1}"#, #"{"a":}"#, #"["a"]"#, #""a""#, "", "{", "}", #"{"a":1} {"#, #"{"a":1}x"#,
            #"{"a":]}"#, #"{"a":[1}"#, #"{"a":"unterminated}"#, #"{a:1}"#,
            // Found by review: nested duplicates (DLP scans the last, a first-wins parser reads the first),
            #"{"model":"m","messages":[{"role":"user","content":"SSN 123-45-6789","content":"hi"}]}"#,
            // keys Foundation merges or Go matches by case folding,
            "{\"p\":{\"\u{E9}\":1,\"e\u{301}\":2}}", #"{"model":"a","Model":"b"}"#, "{\"stream\":true,\"\u{17F}tream\":false}",
            #"{"max_tokens":16,"Max_tokens":100000}"#, #"{"a":{"k":1,"K":2}}"#,
            // and what Foundation forgives and strict parsers refuse.
            #"{"m":[1,]}"#, #"{"a":[1}}"#, #"{"a":{"b":1,}}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":+1}"#, #"{"a":1e}"#, #"{"a":.5}"#,
            #"{"a":"\ud800"}"#, #"{"a":"\udc00\ud800"}"#, #"{"a":"\ud800x"}"#, #"{"a":1e400}"#, #"{"a":123456789012345678901234567890123}"#,
            #"{"a":tru}"#, #"{"a":nulll}"#, #"{"a":"\x"}"#, #"{"a":"\u12G4"}"#, "\u{FEFF}{\"a\":1}", "{\"a\":\"tab\there\"}",
        ] {
            #expect(JSONMembers(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONMembers(Array(#"{"a":"\ud83d\ude00 \u00e9","b":-0.5e-3}"#.utf8)) != nil, "a surrogate pair and a plain number are fine")
        let deep = { (depth: Int) in Array(#"{"a":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: depth - 1) + Array(repeating: UInt8(ascii: "]"), count: depth - 1) + [UInt8(ascii: "}")] }
        #expect(JSONMembers(deep(StrictJSONScan.depthMax)) != nil && JSONMembers(deep(StrictJSONScan.depthMax + 1)) == nil, "nesting past depthMax is declined")
        let empty = JSONMembers(Array(" { } ".utf8))
        #expect(empty?.members.isEmpty == true)
        #expect(empty.map { String(decoding: $0.setting([("model", JSONMembers.encodeString("x"))]), as: UTF8.self) } == #" { "model":"x"} "#, "added before the closing brace, the rest kept byte for byte")
    }

    /// Every prefix and every one-byte corruption of a real body: the scanner never traps,
    /// and never accepts a strict prefix.
    @Test func truncatedAndCorruptedBodiesNeverTrap() {
        let body = Array(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"say \"hi\" \\ [{"}],"max_tokens":16,"stream":false,"t":-1.5e3}"#.utf8)
        #expect(JSONMembers(body) != nil)
        for length in 0..<body.count {
            #expect(JSONMembers(Array(body[..<length])) == nil, "prefix of \(length) bytes")
        }
        var random = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            var corrupted = body
            for _ in 0...(random.next() % 3) {
                corrupted[Int(random.next() % UInt64(body.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            // Never more lenient than Foundation: whatever the scanner accepts, a full parse does.
            if let members = JSONMembers(corrupted) {
                #expect((try? JSONSerialization.jsonObject(with: Data(corrupted))) != nil, "accepted: \(corrupted)")
                _ = members.setting([("model", JSONMembers.encodeString("x"))])
            }
        }
        // Raw bytes a string may not hold: control characters, invalid or overlong UTF-8, surrogates.
        for bad: [UInt8] in [[0x00], [0x1F], [0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]] {
            #expect(JSONMembers(Array(#"{"a":""#.utf8) + bad + Array(#""}"#.utf8)) == nil, "\(bad)")
        }
        #expect(JSONMembers(Array(#"{"a":""#.utf8) + [0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80] + Array(#""}"#.utf8)) != nil, "é and an emoji are fine")
        // Deep nesting is declined without recursion.
        let deep = Array(#"{"a":"#.utf8) + Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000) + [UInt8(ascii: "}")]
        #expect(JSONMembers(deep) == nil)
    }

    @Test func anAnswersUsageIsReadAloneOrTheWholeAnswerIsJudged() {
        func scan(_ text: String) -> AnswerUsage? { AnswerUsage.scan(ByteBuffer(string: text)) }
        let found = scan(#"{"id":"x","choices":[{"message":{"content":"{\"usage\":1}"}}],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#)
        #expect(found?.usage?["prompt_tokens"] as? Int == 12 && found?.usage?["completion_tokens"] as? Int == 3, "the top-level usage, not one inside a string")
        #expect(scan(#"{"id":"x"}"#).map { $0.usage == nil } == true, "no usage: the estimate stands")
        #expect(scan(#"{"id":"x","usage":null}"#).map { $0.usage == nil } == true)
        // Anything else is left to the whole-answer decode, which refuses what is not an object.
        for text in [#"{"id":"x","choices":[},"usage":{"prompt_tokens":1,"completion_tokens":2}}"#, #"{"choices":nonsense,"usage":{}}"#, #"{"usage":"many"}"#, #"{"usage":[1]}"#, #"{"usage":{"prompt_tokens":}}"#, #"["usage"]"#, "", #"{"usage":{},"usage":{}}"#] {
            #expect(scan(text) == nil, "\(text)")
        }
    }

    /// The direct writer: what it writes parses to exactly what was encoded, on random
    /// objects (the generator's numbers, strings with quotes and control characters, nesting)
    /// and on the values the gateway builds itself.
    @Test func theDirectWriterWritesWhatAParserReadsBack() throws {
        for seed in Self.seeds {
            var random = SplitMix64(seed: seed)
            let object = Self.object(depth: 0, &random)
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(Self.encode(object, &random))) as? [String: Any])
            for value in [object, parsed] {
                let bytes = try #require(JSONBytes.encode(value), "seed \(seed)")
                let back = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
                #expect(NSDictionary(dictionary: back) == NSDictionary(dictionary: parsed), "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        let built: [String: Any] = ["stream": true, "n": 3, "t": 0.25, "big": Int64.max, "neg": -7, "list": ["a", 1, false], "none": NSNull(), "u": UInt64.max]
        let builtBytes = try #require(JSONBytes.encode(built))
        let back = try #require(try JSONSerialization.jsonObject(with: Data(builtBytes)) as? [String: Any])
        #expect(JSONField.boolean(back["stream"]!) == true && JSONField.integer(back["n"]!) == 3 && back["t"] as? Double == 0.25)
        #expect(JSONField.integer(back["big"]!) == Int.max && JSONField.integer(back["neg"]!) == -7 && back["none"] is NSNull)
        #expect((back["list"] as? [Any])?.count == 3 && "\(back["u"]!)" == "\(UInt64.max)")
        // What it does not write exactly is left to JSONSerialization.
        #expect(JSONBytes.encode(["x": Double.nan]) == nil && JSONBytes.encode(["x": Date()]) == nil)
        let long = try #require(try JSONSerialization.jsonObject(with: Data(#"{"x":123456789012345678901234567890}"#.utf8)) as? [String: Any])
        #expect(JSONBytes.encode(long).map { String(decoding: $0, as: UTF8.self) } == #"{"x":123456789012345678901234567890}"#, "a long number keeps its digits")
        var deep: Any = "leaf"
        for _ in 0..<(JSONBytes.depthMax + 1) { deep = [deep] }
        #expect(JSONBytes.encode(deep) == nil)
    }

    // MARK: Generating

    static func object(depth: Int, _ random: inout SplitMix64) -> [String: Any] {
        var object: [String: Any] = [:]
        for _ in 0..<Int(random.next() % 6) {
            object[key(&random)] = value(depth: depth + 1, &random)
        }
        return object
    }

    static func key(_ random: inout SplitMix64) -> String {
        ["model", "stream", "stream_options", "messages", "max_tokens", "temperature", "tool-name", "a b", "", "k\(random.next() % 100)"][Int(random.next() % 10)]
    }

    static func value(depth: Int, _ random: inout SplitMix64) -> Any {
        switch random.next() % (depth > 3 ? 5 : 7) {
        case 0: return Int(Int64(bitPattern: random.next()) >> Int(random.next() % 64))
        case 1: return Double(Int64(bitPattern: random.next() % 1_000_000)) / 64
        case 2: return random.next() % 2 == 0
        case 3: return NSNull()
        case 4: return ["", "plain", "quote \" and \\ backslash", "brace } ] , :", "ünï\u{1F600}", "\u{1}\n\t"][Int(random.next() % 6)]
        case 5: return (0..<Int(random.next() % 4)).map { _ in value(depth: depth + 1, &random) }
        default: return object(depth: depth, &random)
        }
    }

    /// `object` as JSON with random whitespace between tokens.
    static func encode(_ object: [String: Any], _ random: inout SplitMix64) -> [UInt8] {
        let compact = try! JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed])
        var out: [UInt8] = []
        var inString = false, escaped = false
        for byte in compact {
            let structural = !inString && [UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":")].contains(byte)
            if structural && random.next() % 3 == 0 { out += [[0x20], [0x0A], [0x09, 0x20], [0x0D, 0x0A]][Int(random.next() % 4)] }
            out.append(byte)
            if structural && random.next() % 3 == 0 { out.append(0x20) }
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            }
        }
        return out
    }
}

import Foundation
import HTTPTypes
import MockLLM
import SeededRandom
import Testing
@testable import Gateway

/// A key a provider may read as one the gateway reads, spelled otherwise (Go's
/// `encoding/json` ignores case and folds `ſ` and the Kelvin sign; its v2 case-insensitive
/// mode also ignores `_` and `-`), is refused with 400 before anything is reserved or sent,
/// alone or beside the exact key. User-defined maps may hold `ID` beside `id`.
@Suite(.serialized) struct KeyClashTests {
    @Test func foldingIsTotalOverAnyKey() {
        #expect(KeyClash.fold("MAX_Tokens") == "maxtokens" && KeyClash.fold("max-tokens") == "maxtokens")
        #expect(KeyClash.fold("\u{17F}TREAM") == "stream" && KeyClash.fold("\u{212A}") == "k" && KeyClash.fold("AZaz@[`{") == "azaz@[`{")
        #expect(KeyClash.fold("é\u{301}😀\u{0}\u{10FFFF}") == "é\u{301}😀\u{0}\u{10FFFF}", "other scalars are kept as they are")
        var random = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let scalars = (0..<Int(random.next() % 12)).compactMap { _ in Unicode.Scalar(UInt32(random.next() % 0x11_0000)) }
            _ = KeyClash.fold(String(String.UnicodeScalarView(scalars)))  // never traps
        }
    }

    @Test func keysThatFoldTogetherAreRefusedAtAnyDepth() async throws {
        let h = try await DataPlaneHarness()
        try await RunningMock.with { mock in
            try await h.serveStandardModels(at: mock)
            try await h.run { api async throws in
                let hi = #""messages":[{"role":"user","content":"hi"}]"#
                for (body, named) in [
                    (#"{"model":"gpt-4o-mini","Model":"gpt-4o",\#(hi)}"#, "'Model', which some providers read as 'model'"),
                    ("{\"model\":\"gpt-4o-mini\",\"\u{17F}tream\":true,\(hi)}", "read as 'stream'"),
                    (#"{"model":"gpt-4o-mini","MAX_TOKENS":100000,\#(hi)}"#, "'MAX_TOKENS'"),
                    (#"{"model":"gpt-4o-mini","maxTokens":100000,\#(hi)}"#, "read as 'max_tokens'"),
                    ("{\"model\":\"gpt-4o-mini\",\"max_to\u{212A}ens\":9,\(hi)}", "read as 'max_tokens'"),
                    (#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"Include_Usage":false},\#(hi)}"#, "read as 'include_usage'"),
                    (#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi","Content":"SSN 123-45-6789"}]}"#, "read as 'content'"),
                ] {
                    let answer = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: body)
                    #expect(answer.status == .badRequest, "\(body): \(answer.text)")
                    let message = (answer.object["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains(named) && message.contains("exactly"), "\(message)")
                }
                #expect(mock.mock.recorded.isEmpty && h.gate.settledUsages.isEmpty && h.gate.cancelCount == 0, "nothing was sent or reserved")
                // User-defined maps may spell keys as they like, and non-ASCII keys take the slow path.
                let accented = #"{"model":"gpt-4o-mini","metadata":{"clé":"v","Ключ":"w","ID":1,"id":2,"Model":"x"},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"ID":{"type":"string"},"id":{"type":"string"}}}}}],"messages":[{"role":"user","content":"hi"}]}"#
                let served = try await api.call(.post, "/v1/chat/completions", token: DataPlaneHarness.callerSecret, body: accented)
                #expect(served.status == .ok, "\(served.text)")
                #expect(mock.mock.recorded.last?.body.contains("Ключ") == true)
            }
        }
    }
}

import Gateway

/// Checks of the data plane's request-body reader: whatever it accepts is within the
/// named limits the rest of the request path computes with, and whatever it refuses is a
/// 400 that says why.
enum RequestBodyChecks {
    static func body(_ bytes: [UInt8]) {
        guard let readings = RequestBodyFuzzing.read(bytes) else { return }
        require(readings.count == 3, "one reading per endpoint")
        for reading in readings {
            switch reading {
            case let .accepted(model, outputTokens, choices, _):
                require(!model.isEmpty && model.utf8.count <= RequestBodyFuzzing.modelBytesMax, "an accepted model name is 1 to modelBytesMax bytes")
                require(!model.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "an accepted model name has no control characters")
                require(outputTokens.map { (1...RequestBodyFuzzing.outputTokensMax).contains($0) } ?? true, "accepted output tokens are within outputTokensMax")
                require((1...RequestBodyFuzzing.choicesMax).contains(choices), "accepted choices are within choicesMax")
            case let .refused(status, message):
                require(status == 400 && !message.isEmpty, "a refused body is a 400 with a message")
            }
        }
        if case let .accepted(_, _, _, stream) = readings[1] { require(!stream, "embeddings never stream") }
    }
}

/// Request bodies as clients send them, and some as hostile ones do.
enum RequestBodySeeds {
    static var bodies: [[UInt8]] {
        [
            #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":256,"n":2,"stream":false}"#,
            #"{"model":"claude-sonnet","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#,
            #"{"model":"text-embedding-3-small","input":["a","b"],"dimensions":512}"#,
            #"{"model":"gpt-4o","max_completion_tokens":9223372036854775807,"max_tokens":null,"n":null}"#,
            #"{"model":"x","max_tokens":1e300,"stream":"yes","n":true,"dimensions":-1}"#,
            #"{"model":"a\u0000b","max_tokens":1.5}"#,
            #"{"model":["gpt-4o"],"n":129}"#,
        ].map { Array($0.utf8) }
    }
}

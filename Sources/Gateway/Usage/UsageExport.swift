import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One user's activity as CSV, oldest first, written page by page as the pages arrive
/// from the nodes (memory stays at one page whatever the export's size).
enum UsageExport {
    /// Events asked of the cluster per page.
    static let pageEvents = 500

    static let columns = [
        "time", "request", "node", "token", "principal", "user", "app", "endpoint", "requested_model", "model", "provider",
        "input_tokens", "output_tokens", "cost_usd", "latency_ms", "status", "error", "stream", "cached", "redactions",
    ]

    /// The response: the first page is read before it starts, so a node that does not
    /// answer gives a 503 instead of a partial file; a later page that misses a node ends
    /// the stream with an error rather than leaving rows out silently.
    static func response(_ usage: any UsageQuery, user: String, period: UsagePeriod) async throws -> Response {
        let query = EventQuery(from: period.from, to: period.to, order: .oldestFirst, limit: pageEvents, user: user)
        let first = await usage.events(query)
        guard first.missing.isEmpty else {
            throw AdminError(.serviceUnavailable, "unavailable",
                             "nodes \(first.missing.map(String.init).joined(separator: ", ")) did not answer, so the export would miss their rows; retry in a moment")
        }
        let headers: HTTPFields = [
            .contentType: "text/csv; charset=utf-8",
            .contentDisposition: "attachment; filename=\"weir-activity-\(filename(user)).csv\"",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await writer.write(ByteBuffer(string: line(columns)))
            var page = first.value
            while true {
                if !page.isEmpty { try await writer.write(ByteBuffer(string: page.map(row).joined())) }
                guard page.count == pageEvents, let last = page.last else { break }
                var next = query
                next.after = last.position
                let answer = await usage.events(next)
                guard answer.missing.isEmpty else { throw ExportError.nodesMissing(answer.missing) }
                page = answer.value
            }
            try await writer.finish(nil)
        })
    }

    enum ExportError: Error { case nodesMissing([UInt64]) }

    static func row(_ stored: StoredUsageEvent) -> String {
        let e = stored.event
        return line([
            UsagePeriod.timestamp(e.time), stored.requestID, String(stored.node), e.token, e.principal, e.user ?? "", e.app ?? "", e.endpoint,
            e.requestedModel, e.model ?? "", e.provider ?? "", String(e.inputTokens), String(e.outputTokens), String(format: "%.6f", usd(e.microUSD)),
            String(format: "%.3f", Double(e.latencyMicroseconds) / 1000), String(e.status), e.errorCode ?? "", String(e.stream), String(e.cached),
            String(e.redactions),
        ])
    }

    /// A CSV line (RFC 4180): fields with a comma, quote or line break are quoted, and a
    /// field that a spreadsheet would run as a formula is prefixed with `'`.
    static func line(_ fields: [String]) -> String {
        fields.map { field -> String in
            var value = field
            if let first = value.first, "=+-@".contains(first), Double(value) == nil { value = "'" + value }
            guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }

    static func filename(_ user: String) -> String {
        String(user.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
    }
}

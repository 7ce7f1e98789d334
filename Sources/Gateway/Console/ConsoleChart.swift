import Foundation

/// Charts drawn as inline SVG from the JSON, on the server.
enum ConsoleChart {
    /// Bars of cost per day, with the day and the amount under and over each.
    static func costBars(_ days: [[String: Any]]) -> String {
        guard !days.isEmpty else { return "<p class=\"empty\">No data.</p>" }
        let costs = days.map { ($0["cost_usd"] as? Double) ?? Double(($0["cost_usd"] as? Int) ?? 0) }
        let top = max(costs.max() ?? 0, 0.000001)
        // At most `chartWidth` wide: a month's bars are narrower, and only every few are dated.
        let width = min(80, chartWidth / days.count), height = 140
        let labelEvery = max(1, (64 + width - 1) / width)
        var svg = "<svg role=\"img\" aria-label=\"cost per day\" width=\"\(width * days.count + 80)\" height=\"\(height + 40)\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (index, day) in days.enumerated() {
            let bar = Int(Double(height - 20) * costs[index] / top)
            let x = index * width + 10
            let date = escape((day["date"] as? String).map { String($0.suffix(5)) } ?? "")
            let amount = ConsoleFormat.cell("cost_usd", costs[index])
            svg += "<rect x=\"\(x)\" y=\"\(height - bar)\" width=\"\(max(2, width - width / 4))\" height=\"\(bar)\" fill=\"#4f6bed\"><title>\(date): \(amount)</title></rect>"
            // Every amount when there is room; otherwise the highest one's.
            if width >= 64 || costs[index] == top { svg += "<text x=\"\(x)\" y=\"\(height - bar - 4)\" font-size=\"11\">\(amount)</text>" }
            if (days.count - 1 - index) % labelEvery == 0 { svg += "<text x=\"\(x)\" y=\"\(height + 16)\" font-size=\"11\">\(date)</text>" }
        }
        return svg + "</svg>"
    }

    /// The widest a chart is drawn, in px.
    static let chartWidth = 1000

    /// Bars of requests per minute (errors in red), the hour's minutes oldest first.
    static func minuteBars(_ minutes: [[String: Any]]) -> String {
        guard !minutes.isEmpty else { return "<p class=\"empty\">No data.</p>" }
        let requests = minutes.map { max(0, $0["requests"] as? Int ?? 0) }
        let top = max(requests.max() ?? 0, 1)
        let width = 12, height = 100
        var svg = "<svg role=\"img\" aria-label=\"requests per minute\" width=\"\(width * minutes.count + 40)\" height=\"\(height + 30)\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<text x=\"0\" y=\"10\" font-size=\"11\">\(top)/min</text>"
        for (index, minute) in minutes.enumerated() {
            // In floating point: the counts come from every node's answer.
            let bar = Int(Double(height) * Double(requests[index]) / Double(top))
            let failed = Int(Double(height) * Double(max(0, min(minute["errors"] as? Int ?? 0, requests[index]))) / Double(top))
            let x = 40 + index * width
            svg += "<rect x=\"\(x)\" y=\"\(height - bar + 14)\" width=\"\(width - 2)\" height=\"\(bar)\" fill=\"#4f6bed\"><title>\(requests[index]) requests</title></rect>"
            if failed > 0 { svg += "<rect x=\"\(x)\" y=\"\(height - failed + 14)\" width=\"\(width - 2)\" height=\"\(failed)\" fill=\"#d64545\"></rect>" }
        }
        return svg + "<text x=\"40\" y=\"\(height + 28)\" font-size=\"11\">60 min ago</text><text x=\"\(width * minutes.count)\" y=\"\(height + 28)\" font-size=\"11\">now</text></svg>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

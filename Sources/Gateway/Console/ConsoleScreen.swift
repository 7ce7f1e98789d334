import Foundation
import Hummingbird
import Policy

/// A console screen: cards, charts, tables and forms over admin endpoints, each rendered
/// from what its endpoint answers (as the signed-in token), each with its own error state.
struct ConsoleScreen {
    var path: String
    var title: String
    var intro: String?
    var sections: [Section]
    /// Seconds after which the browser reloads the page (a live view); nil: never.
    var refresh: Int?

    enum Section {
        case cards(Cards)
        /// A chart drawn on the server from an endpoint's answer.
        case chart(title: String, api: String, draw: ([String: Any]) -> String)
        case table(Table)
        case form(ConsoleForm)
        /// Links (to JSON, YAML or CSV answers the browser's session may read).
        case links([(href: String, label: String)])
        /// A choice of the analytics period (`period`), which cards and tables pass on.
        case period
    }

    /// Figures from one answer.
    struct Cards {
        var title: String
        var api: String
        /// Page parameters passed on to the API (`period`).
        var passing: [String] = []
        var cards: [(label: String, key: String)]
    }

    /// A filtered, paged table over a list endpoint.
    struct Table {
        var title: String?
        var api: String
        var id: String
        /// The endpoint's query parameters offered as filters.
        var filters: [String] = []
        /// Rows per page unless the page asks (`limit`); nil: the API's default.
        var pageSize: Int?
        var columns: [Column]
        var empty: String
        /// Where the items are in the answer (default `items`).
        var items: ([String: Any]) -> [[String: Any]] = { $0["items"] as? [[String: Any]] ?? [] }
        /// Buttons on each row: forms of hidden fields.
        var actions: [RowAction] = []
        /// A link on each row (a CSV export), from the row and the page's query.
        var link: (([String: Any], [String: String]) -> (href: String, label: String)?)?
        /// The form of this page that edits a row (an Edit link, for those who may use it).
        var edit: String?
        /// Page parameters passed on to the API as they are (`period`).
        var passing: [String] = []
    }

    struct Column {
        var label: String
        var value: ([String: Any]) -> String

        /// The item's `key`, formatted by what it holds.
        init(_ label: String, _ key: String) {
            self.label = label
            value = { ConsoleFormat.cell(key, $0[key]) }
        }

        init(_ label: String, _ value: @escaping ([String: Any]) -> String) {
            self.label = label
            self.value = value
        }
    }

    /// A button that submits the form `form` with fields from the row (nil: no button).
    struct RowAction {
        var form: String
        var label: String
        var values: ([String: Any]) -> [String: String]?
    }

    var forms: [ConsoleForm] {
        sections.compactMap { if case let .form(form) = $0 { form } else { nil } }
    }

    var tables: [Table] {
        sections.compactMap { if case let .table(table) = $0 { table } else { nil } }
    }
}

/// Values shown in cells and cards, formatted by their key and type.
enum ConsoleFormat {
    static let timeKeys: Set = ["time", "at", "created", "updated", "last_activity", "from", "to", "expires_at"]

    /// True for a JSON true or false (Foundation parses numbers and flags both as NSNumber;
    /// a flag's type code is `c`).
    static func isFlag(_ value: Any) -> Bool {
        (value as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? (value is Bool)
    }

    static func cell(_ key: String, _ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let stamp as [String: Any] where stamp["at"] != nil: return cell("at", stamp["at"])
        case let flag? where isFlag(flag): return flag as? Bool == true ? "yes" : "no"
        case let list as [Any]: return list.isEmpty ? "-" : list.map { cell("", $0) }.joined(separator: ", ")
        case let map as [String: Any]: return map.isEmpty ? "-" : map.sorted { $0.key < $1.key }.map { "\($0.key)=\(cell("", $0.value))" }.joined(separator: ", ")
        case let text as String: return text
        default: break
        }
        let number = (value as? Double) ?? Double((value as? Int) ?? 0)
        if timeKeys.contains(key) {
            // A stored time may be anything a client sent (an `expires_at` of 1e300): only
            // a time within years 0 to 9999 is shown as a date.
            guard number.isFinite, (0...Double(EventPosition.timeMax)).contains(number) else { return plain(number) }
            return UsagePeriod.timestamp(Int64(number))
        }
        if key == "micro_usd" { return String(format: "$%.4f", number / 1_000_000) }
        if key.hasSuffix("_usd") { return String(format: number != 0 && abs(number) < 0.01 ? "$%.6f" : "$%.4f", number) }
        if key == "share" || key.hasSuffix("_rate") { return String(format: "%.1f%%", 100 * number) }
        return plain(number)
    }

    /// A number as people write it: a whole one without a point, others without an exponent
    /// (a price of 0.00002 USD, not 2e-05).
    static func plain(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        var text = String(format: "%.10f", number)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
}

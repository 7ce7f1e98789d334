import Foundation

/// Prints answers as the operator asked: JSON as the node gave it, or a table.
enum Output {
    static func json(_ value: Any) {
        guard JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber,
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed]) else {
            print(value)
            return
        }
        print(String(decoding: data, as: UTF8.self))
    }

    /// `rows` under `columns`, each column as wide as its widest cell.
    static func table(_ columns: [String], _ rows: [[String]]) {
        var widths = columns.map(\.count)
        for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        print(line(columns.map { $0.uppercased() }))
        for row in rows { print(line(row)) }
    }

    /// A JSON value as one table cell.
    static func cell(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: "-"
        case let text as String: text
        case let number as NSNumber: ["c", "B"].contains(String(cString: number.objCType)) ? (number.boolValue ? "true" : "false") : number.stringValue
        case let list as [Any]: list.map { cell($0) }.joined(separator: ",")
        default: (try? JSONSerialization.data(withJSONObject: value!, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "\(value!)"
        }
    }
}

import Foundation

/// A section of a Markdown file between two HTML comment markers, which a benchmark
/// rewrites on each run and appends when the file has none yet.
enum MarkedSection {
    /// Replaces the text from `start` to `end` in `path` with `section` (which holds both
    /// markers), or appends `section`.
    static func write(_ section: String, start: String, end: String, to path: String) {
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        if let a = text.range(of: start), let b = text.range(of: end), a.lowerBound < b.upperBound {
            text.replaceSubrange(a.lowerBound..<b.upperBound, with: section)
        } else {
            text += (text.hasSuffix("\n") ? "\n" : "\n\n") + section + "\n"
        }
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

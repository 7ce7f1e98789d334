/// A configuration problem, worded for the operator: which key, which value, where it
/// came from and what was expected.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key Weir does not know.
    case unknownKey(String, source: String, suggestion: String?)
    /// A value that does not parse or is out of range.
    case invalidValue(key: String, value: String, source: String, expected: String)
    /// The configuration file cannot be read.
    case unreadableFile(path: String, reason: String)
    /// The configuration file is not valid YAML, or not a mapping of keys.
    case invalidYAML(path: String, reason: String)
    /// Keys that are each valid but conflict.
    case invalidCombination(String)

    public var description: String {
        switch self {
        case let .unknownKey(key, source, suggestion):
            let hint = suggestion.map { " (did you mean \($0)?)" } ?? ""
            return "unknown configuration key '\(key)' in \(source)\(hint); `weir init` writes every key with its default"
        case let .invalidValue(key, value, source, expected):
            return "invalid value '\(value)' for \(key) (from \(source)): expected \(expected)"
        case let .unreadableFile(path, reason):
            return "cannot read configuration file \(path): \(reason)"
        case let .invalidYAML(path, reason):
            return "configuration file \(path) is not valid: \(reason)"
        case let .invalidCombination(message):
            return message
        }
    }
}

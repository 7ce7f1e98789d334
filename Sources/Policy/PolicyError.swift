/// Why a policy command or query was refused. Every case names what is wrong so the
/// admin API can answer a precise 4xx; a refused command changes nothing.
public enum PolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A field's value is not acceptable: `field` is its snake_case name.
    case invalid(field: String, message: String)
    /// A referenced record does not exist (`field` holds the reference).
    case unknownReference(field: String, id: String)
    /// The record to change or delete does not exist.
    case notFound(kind: String, id: String)
    /// The record cannot be deleted while others refer to it.
    case referenced(kind: String, id: String, by: [String])
    /// The record already exists and the command only creates.
    case alreadyExists(kind: String, id: String)

    public var description: String {
        switch self {
        case let .invalid(field, message): "\(field): \(message)"
        case let .unknownReference(field, id): "\(field): no such record '\(id)'; create it first or fix the id"
        case let .notFound(kind, id): "no \(kind) with id '\(id)'"
        case let .referenced(kind, id, by):
            "\(kind) '\(id)' is still referenced by \(by.prefix(5).joined(separator: ", "))\(by.count > 5 ? " and \(by.count - 5) more" : ""); change or delete those first"
        case let .alreadyExists(kind, id): "\(kind) '\(id)' already exists"
        }
    }

    /// The field the error is about, when there is one.
    public var field: String? {
        switch self {
        case let .invalid(field, _), let .unknownReference(field, _): field
        default: nil
        }
    }
}

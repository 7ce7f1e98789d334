import Foundation
import Hummingbird
import NIOCore

/// Stage read: the request's body, decoded and as sent, within `bytesMax`. A body that is
/// not a JSON object is a 400; a larger one a 413; one with a key a provider may read as
/// one the gateway reads, spelled otherwise, a 400 (`KeyClash`).
struct ReadBody: Sendable {
    let bytesMax: Int

    func run(_ request: Request) async throws(GatewayError) -> (object: [String: Any], raw: [UInt8]) {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: bytesMax)
        } catch {
            throw GatewayError(status: .contentTooLarge, type: "invalid_request_error", code: "request_too_large",
                               message: "the body is larger than \(bytesMax) bytes; shorten the prompt")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] else {
            throw GatewayError.invalid("the body is not a JSON object; send the request as JSON")
        }
        if let clash = KeyClash.find(in: object) { throw KeyClash.refusal(clash) }
        return (object, Array(buffer.readableBytesView))
    }
}

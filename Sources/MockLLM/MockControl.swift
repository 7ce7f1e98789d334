import Foundation
import Hummingbird
import NIOCore

/// `/_mock/…`: what tests use to look inside the simulator and steer it.
///
/// - `GET /_mock/requests` the recorded requests (path, model, stream, key, body);
///   `DELETE` forgets them.
/// - `GET /_mock/faults`, `POST /_mock/faults` `{"kind":"status","status":500,"count":3,
///   "model":"gpt-4o","rate":1}`, `DELETE /_mock/faults`.
/// - `GET /_mock/health`.
struct MockControl: Sendable {
    let state: MockState

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/_mock/health") { _, _ in jsonResponse(["status": "ok", "served": state.served]) }
        router.get("/_mock/requests") { _, _ in
            let items: [[String: Any]] = state.recorded.map { r in
                [
                    "path": r.path, "model": r.model ?? NSNull(), "stream": r.stream, "api_key": r.apiKey ?? NSNull(),
                    "body": (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) ?? r.body,
                ]
            }
            return jsonResponse(["items": items])
        }
        router.delete("/_mock/requests") { _, _ in
            state.clearRecorded()
            return Response(status: .noContent)
        }
        router.get("/_mock/faults") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array((try? JSONEncoder().encode(state.faults)) ?? Data()))))
        }
        router.post("/_mock/faults") { request, _ in
            let bytes = try await request.body.collect(upTo: 64 * 1024)
            guard let fault = try? JSONDecoder().decode(Fault.self, from: Data(bytes.readableBytesView)) else {
                return jsonResponse(["error": "send {\"kind\": \"status|timeout|drop\", \"status\"?, \"rate\"?, \"count\"?, \"model\"?}"], status: .badRequest)
            }
            if let problem = fault.problem { return jsonResponse(["error": problem], status: .badRequest) }
            state.add(fault)
            return jsonResponse(["faults": state.faults.count], status: .created)
        }
        router.delete("/_mock/faults") { _, _ in
            state.clearFaults()
            return Response(status: .noContent)
        }
    }
}

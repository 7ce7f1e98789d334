import Crypto
import Foundation
import Logging

/// The key-encryption key that seals provider secrets. It lives in a file, never in
/// RocksDB or the Raft log: `cluster.kek_file`, or `DATA_DIR/kek.key`, generated with mode
/// 0600 on the first start of a lone node when none is configured (a node with peers
/// must be given the cluster's shared file: `NodeConfiguration.validateRelations`).
enum KeyEncryptionKey {
    struct Unreadable: Error, CustomStringConvertible {
        var path: String
        var description: String { "\(path) must hold the key-encryption key as 64 hex digits (make one with `openssl rand -hex 32`)" }
    }

    static func load(configured: String?, dataDirectory: String, logger: Logger) throws -> [UInt8] {
        let path = configured ?? dataDirectory + "/kek.key"
        if configured == nil && !FileManager.default.fileExists(atPath: path) {
            let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
            let hex = fresh.map { String(format: "%02x", $0) }.joined() + "\n"
            guard FileManager.default.createFile(atPath: path, contents: Data(hex.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw Unreadable(path: path)
            }
            logger.notice("generated a key-encryption key for provider secrets", metadata: ["file": "\(path)"])
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Unreadable(path: path) }
        let digits = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard digits.count == 64 else { throw Unreadable(path: path) }
        var key: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { throw Unreadable(path: path) }
            key.append(byte)
        }
        return key
    }
}

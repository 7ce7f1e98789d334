import Foundation

/// The inputs on disk: files, and the files directly inside folders, skipping dotfiles and
/// READMEs (a folder kept in git by a `.gitkeep` holds no inputs).
enum InputFiles {
    static func list(_ path: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw Missing(path: path) }
        guard isFolder.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path)
            .filter { !$0.hasPrefix(".") && !$0.hasPrefix("README") }
            .sorted()
            .map { "\(path)/\($0)" }
    }

    static func folders(in root: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root).filter { name in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(root)/\(name)", isDirectory: &isFolder) && isFolder.boolValue
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Missing(path: path) }
        return Array(data)
    }

    struct Missing: Error, CustomStringConvertible {
        var path: String
        var description: String { "no readable file or folder at \(path)" }
    }
}

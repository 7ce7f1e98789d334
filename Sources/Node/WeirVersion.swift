/// Weir's version, reported by `weir version`, `/health/live` and `weir_build_info`.
public enum WeirVersion {
    /// The semantic version of this build.
    public static let current = "0.1.0"
}

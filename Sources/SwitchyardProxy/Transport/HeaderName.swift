/// Header names: comparison without allocating.
enum HeaderName {
    /// Whether `name` is `lowercase` (given in lower case), ignoring ASCII case.
    @inline(__always)
    static func `is`(_ name: some StringProtocol, _ lowercase: StaticString) -> Bool {
        HeaderText.equalsIgnoringCase(name.utf8, lowercase)
    }
}

import SwitchyardCore
import Testing

@Suite("Path matches")
struct PathMatchTests {
    @Test("exact and prefix matches compare bytes, not Unicode equivalence")
    func bytes() {
        let composed = "/caf\u{E9}"  // é as one scalar
        let decomposed = "/cafe\u{301}"  // e and a combining acute: equal as Swift Strings
        #expect(composed == decomposed)
        #expect(PathMatch.exact(composed).matches(composed[...]))
        #expect(!PathMatch.exact(composed).matches(decomposed[...]))
        #expect(!PathMatch.prefix(composed).matches("\(decomposed)/menu"[...]))
        #expect(PathMatch.prefix(composed).matches("\(composed)/menu"[...]))
    }

    @Test("a prefix matches whole segments, or anything under a prefix ending in a slash")
    func segments() {
        #expect(PathMatch.prefix("/api").matches("/api"[...]))
        #expect(PathMatch.prefix("/api").matches("/api/x"[...]))
        #expect(!PathMatch.prefix("/api").matches("/apix"[...]))
        #expect(PathMatch.prefix("/api/").matches("/api/x"[...]))
        #expect(!PathMatch.prefix("/api/").matches("/api"[...]))
        #expect(PathMatch.prefix("/").matches("/anything"[...]))
        #expect(!PathMatch.prefix("/").matches("*"[...]))
    }
}

import SwitchyardCore
import Testing

@Suite("Meta and refs")
struct MetaTests {
    let web = Meta.resource(group: "core", kind: "Service", namespace: "prod", name: "web", port: 80)

    @Test("a Default reads as group \"\", kind default, namespace \"\", section \"\", no port")
    func defaultFields() {
        let meta = Meta.default(name: "unknown")
        #expect(meta.group == "")
        #expect(meta.kind == "default")
        #expect(meta.namespace == "")
        #expect(meta.name == "unknown")
        #expect(meta.section == "")
        #expect(meta.port == nil)
    }

    @Test("equality needs every field, namespace and port included")
    func fullFieldEquality() {
        #expect(web == .resource(group: "core", kind: "Service", namespace: "prod", name: "web", port: 80))
        #expect(web != .resource(group: "core", kind: "Service", namespace: "staging", name: "web", port: 80))
        #expect(web != .resource(group: "core", kind: "Service", namespace: "prod", name: "web", port: 81))
        #expect(web != .resource(group: "core", kind: "Service", namespace: "prod", name: "web"))
        #expect(web != .resource(group: "", kind: "Service", namespace: "prod", name: "web", port: 80))
        #expect(web != .resource(group: "core", kind: "Service", namespace: "prod", name: "web", section: "", port: 80))
        #expect(Meta.default(name: "web") != .resource(group: "", kind: "default", namespace: "", name: "web"))
        #expect(Set([web, web, .default(name: "unknown")]).count == 2)
    }

    @Test("refs wrap metas and keep them apart by type")
    func refs() {
        let parent = ParentRef(web)
        let backend = BackendRef(web)
        #expect(parent.meta == backend.meta)
        #expect(parent == ParentRef(web))
        #expect(RouteRef(.default(name: "http")).description == "Default(http)")
        #expect(EndpointRef(.resource(group: "core", kind: "Pod", namespace: "prod", name: "web-0", port: 8080)).description
            == "Resource(core/Pod prod/web-0 port=8080)")
    }

    @Test("display form shows section and port")
    func display() {
        #expect(web.description == "Resource(core/Service prod/web port=80)")
        #expect(Meta.resource(group: "g", kind: "K", namespace: "n", name: "x", section: "http").description == "Resource(g/K n/x#http)")
    }

    @Test("errors are rendered 'Service <name>.<ns>: <error>' and 'default <name>: <error>'")
    func errorRendering() {
        #expect(web.describe(error: "service in fail-fast") == "Service web.prod: service in fail-fast")
        #expect(Meta.default(name: "fail").describe(error: "backend is a fail backend") == "default fail: backend is a fail backend")
    }
}

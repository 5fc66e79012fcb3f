/// The dashboard at the admin port's `/`: one self-contained page (no CDN, no build step) that
/// polls `/state` and `/metrics` every second and shows each service → route → backend with
/// its request rate, success rate and p50/p99 (from the response-duration histogram), each
/// backend's endpoints with their breaker state, the breaker transitions as they happen, the
/// loaded plugins with their fault counts, the config generation and last reload, and the log
/// level (changeable here: `PUT /log-level`, taken from loopback peers only).
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Switchyard</title>
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font:14px/1.4 system-ui,-apple-system,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
        header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
        header h1{font-size:18px;margin:0}
        main{padding:16px 20px;display:grid;gap:16px}
        section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px 16px}
        h2{font-size:15px;margin:0 0 8px}
        table{border-collapse:collapse;width:100%}
        th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;font-variant-numeric:tabular-nums}
        th{color:#5b6475;font-weight:600}
        .num{text-align:right}
        .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
        .ready{background:#e3f6e8;color:#17663a}.pending{background:#fde8e8;color:#9b1c1c}.probing{background:#fff4d6;color:#8a5a00}
        .failfast{background:#fde8e8;color:#9b1c1c}.ok{background:#e3f6e8;color:#17663a}
        .muted{color:#7b8494}
        select{font:inherit}
        </style></head>
        <body>
        <header><h1>Switchyard</h1><span id="generation"></span><span id="reload"></span>
        <label>log level <select id="level"><option>trace</option><option>debug</option><option>info</option><option>notice</option><option>warning</option><option>error</option><option>critical</option></select></label>
        <span id="status" class="muted"></span></header>
        <main>
        <section><h2>Routes</h2><table><thead><tr><th>service</th><th>route</th><th>backend</th><th class="num">req/s</th><th class="num">success</th><th class="num">p50</th><th class="num">p99</th></tr></thead><tbody id="routes"></tbody></table></section>
        <section><h2>Backends and endpoints</h2><table><thead><tr><th>backend</th><th>balancer</th><th>queue</th><th>endpoint</th><th>resolved as</th><th>state</th></tr></thead><tbody id="endpoints"></tbody></table></section>
        <section><h2>Breaker transitions</h2><table><thead><tr><th>time</th><th>backend</th><th>endpoint</th><th>transition</th></tr></thead><tbody id="events"></tbody></table></section>
        <section><h2>Plugins</h2><table><thead><tr><th>plugin</th><th>version</th><th>ABI</th><th>resolvers</th><th>balancers</th><th class="num">faults</th></tr></thead><tbody id="plugins"></tbody></table></section>
        </main>
        <script>
        "use strict";
        const esc = s => String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"})[c]);
        const ref = (l, p) => l[p + "_kind"] === "default" ? "default/" + l[p + "_name"]
          : [l[p + "_group"], l[p + "_kind"], l[p + "_namespace"], l[p + "_name"]].join("/") + (l[p + "_section_name"] ? "#" + l[p + "_section_name"] : "") + (l[p + "_port"] ? ":" + l[p + "_port"] : "");
        function parse(text) {
          const series = [];
          for (const line of text.split("\n")) {
            if (!line || line[0] === "#") continue;
            const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
            if (!m) continue;
            const labels = {};
            for (const l of (m[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
            series.push({name: m[1], labels, value: Number(m[3])});
          }
          return series;
        }
        const failing = new Set(["2", "4", "7", "13", "14", "15"]);
        function queues(series) {
          const out = {};
          for (const s of series) if (s.name === "outbound_http_balancer_queue_length") out[ref(s.labels, "backend")] = s.value;
          return out;
        }
        function routeBackends(series) {
          const out = {};
          const get = l => {
            const key = ref(l, "parent") + "|" + ref(l, "route") + "|" + ref(l, "backend");
            return out[key] || (out[key] = {requests: 0, responses: 0, ok: 0, buckets: {}, count: 0});
          };
          for (const s of series) {
            const n = s.name;
            if (!/^outbound_(http|grpc)_route_backend_/.test(n)) continue;
            const e = get(s.labels);
            if (n.endsWith("_requests_total")) e.requests += s.value;
            else if (n.endsWith("_response_statuses_total")) {
              e.responses += s.value;
              const status = s.labels.http_status ?? s.labels.grpc_status;
              const good = s.labels.error === "" && status !== "" && (s.labels.http_status !== undefined ? !status.startsWith("5") : !failing.has(status));
              if (good) e.ok += s.value;
            } else if (n.endsWith("_response_duration_seconds_bucket")) e.buckets[s.labels.le] = (e.buckets[s.labels.le] || 0) + s.value;
            else if (n.endsWith("_response_duration_seconds_count")) e.count += s.value;
          }
          return out;
        }
        function quantile(now, before, q) {
          const count = now.count - (before ? before.count : 0);
          if (count <= 0) return "–";
          const bounds = Object.keys(now.buckets).filter(b => b !== "+Inf").map(Number).sort((a, b) => a - b);
          for (const b of bounds) {
            const key = Object.keys(now.buckets).find(k => Number(k) === b);
            const cum = now.buckets[key] - (before && before.buckets[key] ? before.buckets[key] : 0);
            if (cum >= q * count) return "≤ " + (b < 1 ? (b * 1000) + " ms" : b + " s");
          }
          return "> " + bounds[bounds.length - 1] + " s";
        }
        let previous = null;
        async function tick() {
          try {
            const [state, text] = await Promise.all([fetch("/state").then(r => r.json()), fetch("/metrics").then(r => r.text())]);
            const time = performance.now() / 1000;
            const series = parse(text);
            const stats = routeBackends(series);
            const queued = queues(series);
            const dt = previous ? time - previous.time : 0;
            document.getElementById("generation").textContent = "config generation " + state.generation + " since " + state.loadedAt;
            const r = state.lastReload;
            document.getElementById("reload").innerHTML = r ? "last reload " + esc(r.at) + " " + (r.result === "served" ? '<span class="badge ok">served</span>' : '<span class="badge failfast" title="' + esc(r.error) + '">refused</span>') : "";
            const level = document.getElementById("level");
            if (document.activeElement !== level) level.value = state.logLevel;
            let rows = "";
            for (const service of state.services) for (const route of service.routes) for (const backend of route.backends) {
              const key = service.parent + "|" + route.route + "|" + backend.backend;
              const now = stats[key] || {requests: 0, responses: 0, ok: 0, buckets: {}, count: 0};
              const before = previous && previous.stats[key];
              const rps = before && dt > 0 ? ((now.requests - before.requests) / dt).toFixed(1) : "–";
              const answered = now.responses - (before ? before.responses : 0);
              const success = before && answered > 0 ? (100 * (now.ok - before.ok) / answered).toFixed(1) + " %" : "–";
              rows += '<tr class="route-backend" data-backend="' + esc(backend.backend) + '"><td>' + esc(service.authority) + ' <span class="muted">(' + esc(service.resolvedBy) + ')</span></td><td>' + esc(route.route) + '</td><td>' + esc(backend.backend) + (backend.target === "fail" ? ' <span class="muted">(fail)</span>' : "") + '</td><td class="num">' + rps + '</td><td class="num">' + success + '</td><td class="num">' + quantile(now, before, 0.5) + '</td><td class="num">' + quantile(now, before, 0.99) + "</td></tr>";
            }
            document.getElementById("routes").innerHTML = rows;
            rows = "";
            for (const backend of state.backends) {
              // A discovered backend names its source and where it stands; with no endpoints it still has a row.
              const source = backend.discovery ? ' <span class="muted discovery">(' + esc(backend.discovery.name) + ": " + esc(backend.discovery.state) + ")</span>" : "";
              const cells = '<td>' + esc(backend.authority) + '</td><td>' + esc(backend.balancer) + source + '</td><td>' + (backend.failFast ? '<span class="badge failfast">fail-fast</span>' : '<span class="badge ok">open</span>') + " " + (queued[backend.backend] ? esc(queued[backend.backend]) + " waiting" : "") + "</td>";
              if (backend.endpoints.length === 0) rows += '<tr class="no-endpoints">' + cells + '<td colspan="3" class="muted">no endpoints</td></tr>';
              for (const endpoint of backend.endpoints) {
                rows += '<tr class="endpoint" data-address="' + esc(endpoint.address) + '" data-state="' + esc(endpoint.state) + '">' + cells + '<td>' + esc(endpoint.address) + '</td><td>' + esc(endpoint.endpoint) + ' <span class="muted">(' + esc(endpoint.resolvedBy) + ')</span></td><td><span class="badge ' + esc(endpoint.state) + '">' + esc(endpoint.state) + "</span></td></tr>";
              }
            }
            document.getElementById("endpoints").innerHTML = rows;
            document.getElementById("events").innerHTML = state.breakerEvents.slice(-20).reverse().map(e => '<tr class="event"><td>' + esc(e.time) + "</td><td>" + esc(e.backend) + "</td><td>" + esc(e.endpoint) + '</td><td><span class="badge ' + (e.transition === "tripped" ? "pending" : e.transition === "probing" ? "probing" : "ready") + '">' + esc(e.transition) + "</span></td></tr>").join("");
            document.getElementById("plugins").innerHTML = state.plugins.map(p => "<tr><td>" + esc(p.name) + "</td><td>" + esc(p.version) + "</td><td>" + esc(p.abi) + "</td><td>" + esc(p.resolvers.map(x => x.name).join(", ")) + "</td><td>" + esc(p.balancers.map(x => x.name).join(", ")) + '</td><td class="num">' + p.faults + "</td></tr>").join("");
            document.getElementById("status").textContent = state.draining ? "draining" : "live";
            previous = {time, stats};
          } catch (error) {
            document.getElementById("status").textContent = "unreachable: " + error;
          }
        }
        document.getElementById("level").addEventListener("change", async event => {
          const response = await fetch("/log-level", {method: "PUT", body: event.target.value});
          if (!response.ok) alert(await response.text());
        });
        tick();
        setInterval(tick, 1000);
        </script>
        </body></html>
        """#
}

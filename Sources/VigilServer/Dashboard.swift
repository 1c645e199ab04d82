import Foundation
import Hummingbird
import NIOCore
import VigilMonitor

/// The dashboard: one self-contained page (HTML, CSS and JavaScript inline — no build step, no CDN, works
/// offline) that renders Vigil's own JSON routes, and a stream of status updates for it.
///
/// The page itself holds no data and is public; everything it shows comes from the API with the caller's
/// token (pasted once, or given as `#token=…` in the address; kept in the tab's session storage, never sent
/// in a URL to the server).
enum Dashboard {
  /// `GET /v1/events`: server-sent events, the whole status every second (`event: status`), for 10 s
  /// (`?once=true`: one event), then the end: the page connects again at once, and a stopping `vigil serve`
  /// never waits long for a dashboard left open. The page reads it with `fetch` (so the token travels in the
  /// Authorization header).
  static func events(monitor: Monitor, once: Bool = false) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Response(
      status: .ok,
      headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
      body: ResponseBody { writer in
        let end = ContinuousClock.now + .seconds(10)
        while !Task.isCancelled, ContinuousClock.now < end {
          let data = (try? encoder.encode(await monitor.status())) ?? Data("{}".utf8)
          var buffer = ByteBuffer(string: "event: status\ndata: ")
          buffer.writeBytes(data)
          buffer.writeString("\n\n")
          try await writer.write(buffer)
          if once { break }
          try await Task.sleep(for: .seconds(1))
        }
        try await writer.finish(nil)
      })
  }

  static func page() -> Response {
    Response(
      status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
      body: .init(byteBuffer: ByteBuffer(string: html)))
  }

  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Vigil</title>
    <style>
      body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
      header { background: #1b1f24; color: #fff; padding: 10px 20px; display: flex; gap: 18px; align-items: center; }
      header a { color: #cfd6df; text-decoration: none; } header a.on { color: #fff; font-weight: 600; }
      header .live { margin-left: auto; font-size: 12px; color: #9aa5b1; }
      main { padding: 16px 20px; }
      h1 { font-size: 18px; margin: 4px 0 12px; } h2 { font-size: 15px; margin: 18px 0 6px; }
      table { border-collapse: collapse; width: 100%; background: #fff; }
      th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
      th { font-size: 12px; color: #5b6673; font-weight: 600; }
      .healthy { color: #137333; } .suspect { color: #b06000; } .failed { color: #c5221f; font-weight: 600; }
      .unknown { color: #5b6673; } .muted { color: #5b6673; } .pill { padding: 1px 6px; border-radius: 8px; background: #e8eaed; }
      .critical { color: #c5221f; } .warning { color: #b06000; }
      button { font: inherit; padding: 2px 10px; } input { font: inherit; padding: 3px 6px; width: 28em; }
      #auth { background: #fff3cd; padding: 8px 20px; display: none; }
      .bar { display: inline-block; height: 8px; background: #4285f4; vertical-align: middle; }
    </style>
    </head>
    <body>
    <header>
      <strong>Vigil</strong>
      <a href="#/" data-nav="fleet">Fleet</a>
      <a href="#/repairs" data-nav="repairs">Repairs</a>
      <a href="#/audit" data-nav="audit">Audit</a>
      <a href="#/drills" data-nav="drills">Drills</a>
      <span class="live" id="live">connecting…</span>
    </header>
    <div id="auth">This Vigil needs a token: <input id="token" placeholder="vigil_…" type="password">
      <button id="save">Use it</button> <span class="muted">(kept in this tab only)</span></div>
    <main id="view">loading…</main>
    <script>
    "use strict";
    const view = document.getElementById("view");
    let status = null;
    let token = sessionStorage.getItem("vigil-token") || "";
    const fromHash = location.hash.match(/token=([^&]+)/);
    if (fromHash) { token = decodeURIComponent(fromHash[1]); sessionStorage.setItem("vigil-token", token); location.hash = "#/"; }
    document.getElementById("save").onclick = () => {
      token = document.getElementById("token").value.trim(); sessionStorage.setItem("vigil-token", token);
      document.getElementById("auth").style.display = "none"; stream(); render();
    };
    const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
    const when = (t) => t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "–";
    const secs = (s) => s == null ? "–" : s < 10 ? s.toFixed(2) + " s" : Math.round(s) + " s";
    const health = (h) => `<span class="${esc(h)}" data-health="${esc(h)}">${esc(h)}</span>`;
    async function api(path, init = {}) {
      const headers = Object.assign({ Accept: "application/json" }, init.headers || {});
      if (token) headers.Authorization = "Bearer " + token;
      const r = await fetch(path, Object.assign({}, init, { headers }));
      if (r.status === 401) { document.getElementById("auth").style.display = "block"; throw new Error("a token is needed"); }
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
      return body;
    }
    const rank = { failed: 0, suspect: 1, unknown: 2, healthy: 3 };
    async function fleet() {
      if (!status) return "loading…";
      const [control, plans] = await Promise.all([api("/v1/repair-control").catch(() => ({ paused: [] })),
        api("/v1/repairs?limit=50").catch(() => [])]);
      const working = (name) => plans.filter((p) => p.cluster === name && ["running", "ready", "awaiting-approval"].includes(p.state))
        .map((p) => `#${p.id} ${esc(p.runbook)} ${esc(p.state)}`).join(", ");
      const rows = [...status.clusters].sort((a, b) => rank[a.health] - rank[b.health] || a.name.localeCompare(b.name)).map((c) => {
        const voters = c.members.filter((m) => !m.learner);
        const ok = voters.filter((m) => m.health === "healthy").length;
        const need = Math.floor(voters.length / 2) + 1;
        const critical = c.findings.filter((f) => f.severity === "critical").length;
        const probes = c.probes.filter((p) => p.lastOK !== null);
        const okProbes = probes.filter((p) => p.lastOK).length;
        return `<tr data-cluster="${esc(c.name)}"><td><a href="#/cluster/${encodeURIComponent(c.name)}">${esc(c.name)}</a></td>
          <td>${esc(c.tier)}</td><td>${health(c.health)}</td>
          <td class="${ok < need ? "failed" : ok < voters.length ? "suspect" : ""}">${ok}/${voters.length} (quorum ${need})</td>
          <td>${okProbes}/${probes.length}</td>
          <td>${c.openIncidents.map((i) => `<a href="#/incident/${i.id}">#${i.id}</a>`).join(" ") || "–"}</td>
          <td class="${critical ? "critical" : ""}">${c.findings.length} (${critical} critical)</td>
          <td>${(control.paused || []).includes(c.name) ? '<span class="warning">paused</span> ' : ""}${working(c.name) || (control.paused || []).includes(c.name) ? working(c.name) : "auto"}</td>
          <td>${c.standby ? esc(c.standby.active + " → " + c.standby.standby + ", " + c.standby.phase + ", lag " + secs(c.standby.lagSeconds)) : "–"}</td></tr>`;
      }).join("");
      return `<h1>Fleet</h1><table><tr><th>CLUSTER</th><th>TIER</th><th>HEALTH</th><th>VOTERS HEALTHY</th><th>PROBES OK</th>
        <th>OPEN INCIDENTS</th><th>FINDINGS</th><th>REPAIR</th><th>STANDBY</th></tr>${rows}</table>
        <p class="muted">Worst first. Updated ${when(status.generatedAt)}.</p>`;
    }
    async function cluster(name) {
      const c = status && status.clusters.find((x) => x.name === name);
      if (!c) return `no cluster ${esc(name)}`;
      const transitions = await api("/v1/transitions?cluster=" + encodeURIComponent(name) + "&limit=15").catch(() => []);
      const members = c.members.map((m) => `<tr data-member="${esc(m.name)}"><td>${esc(m.name)}</td><td>${esc(m.id)}</td>
        <td>${esc(m.endpoint)}</td><td>${m.learner ? "learner" : "voter"}</td><td>${health(m.health)}</td><td>${esc(m.diagnosis || "–")}</td></tr>`).join("");
      const probes = c.probes.map((p) => `<tr><td>${esc(p.subject)}</td><td>${esc(p.probe)}</td><td>${health(p.health)}</td>
        <td>${p.lastLatencyMs == null ? "–" : `<span class="bar" style="width:${Math.min(200, p.lastLatencyMs)}px"></span> ${p.lastLatencyMs.toFixed(1)} ms`}</td>
        <td class="muted">${esc(p.lastMessage || "")}</td></tr>`).join("");
      const findings = c.findings.map((f) => `<tr><td class="${esc(f.severity)}">${esc(f.severity)}</td><td>${esc(f.check)}</td>
        <td>${esc(f.member || "–")}</td><td>${esc(f.summary)}${(f.evidence || []).length
          ? `<details><summary>evidence</summary><pre class="evidence">${esc(f.evidence.join("\n"))}</pre></details>` : ""}</td>
        <td class="muted">${esc(f.action)}</td></tr>`).join("");
      const diag = c.diagnoses.map((d) => `<li>${esc(d.member || c.name)}: <b>${esc(d.fault)}</b> — ${esc(d.reason)}</li>`).join("");
      const trans = transitions.map((t) => `<tr><td>${when(t.at)}</td><td>${esc(t.subject)}</td><td>${health(t.from)} → ${health(t.to)}</td>
        <td class="muted">${esc((t.evidence || []).join("; "))}</td></tr>`).join("");
      return `<h1>Cluster ${esc(c.name)} ${health(c.health)}</h1>
        <h2>Members</h2><table><tr><th>MEMBER</th><th>ID</th><th>ENDPOINT</th><th>ROLE</th><th>HEALTH</th><th>DIAGNOSIS</th></tr>${members}</table>
        ${diag ? `<h2>Diagnoses</h2><ul>${diag}</ul>` : ""}
        <h2>Open incidents</h2>${c.openIncidents.map((i) => `<a href="#/incident/${i.id}">#${i.id} ${esc(i.subject)} ${esc(i.fault || "")}</a>`).join(" ") || "none"}
        <h2>Probes</h2><table><tr><th>SUBJECT</th><th>PROBE</th><th>HEALTH</th><th>LAST LATENCY</th><th>LAST MESSAGE</th></tr>${probes}</table>
        <h2>Findings</h2>${findings ? `<table><tr><th>SEVERITY</th><th>CHECK</th><th>MEMBER</th><th>SUMMARY</th><th>ACTION</th></tr>${findings}</table>` : "none"}
        <h2>Recent transitions</h2><table><tr><th>AT</th><th>SUBJECT</th><th>CHANGE</th><th>EVIDENCE</th></tr>${trans}</table>`;
    }
    async function incident(id) {
      const i = await api("/v1/incidents/" + encodeURIComponent(id));
      const steps = i.timeline.map((e) => `<tr><td>${when(e.at)}</td><td>${esc(e.kind)}</td><td>${esc(e.text)}</td></tr>`).join("");
      return `<h1>Incident #${i.id}: ${esc(i.subject)} ${esc(i.fault || "")}</h1>
        <p>${i.closedAt ? "closed " + when(i.closedAt) : "<b>open</b>"} · opened ${when(i.openedAt)} ·
        MTTD ${secs(i.detectedAt && i.onsetAt ? i.detectedAt - i.onsetAt : null)} · MTTR ${secs(i.closedAt && i.onsetAt ? i.closedAt - i.onsetAt : null)}</p>
        <h2>Timeline</h2><table><tr><th>AT</th><th>WHAT</th><th></th></tr>${steps}</table>`;
    }
    async function repairs() {
      const plans = await api("/v1/repairs?limit=50");
      const rows = plans.map((p) => `<tr data-plan="${p.id}"><td>#${p.id}</td><td>${esc(p.cluster)}</td><td>${esc(p.runbook)}</td>
        <td>${esc(p.member || "–")}</td><td>${esc(p.state)}</td><td>${esc(p.decidedBy || p.requestedBy)}</td>
        <td>${p.steps.map((s) => `<span class="pill" title="${esc(s.detail || "")}">${esc(s.action)}${s.member ? " " + esc(s.member) : ""}: ${esc(s.state)}</span>`).join(" ")}</td>
        <td>${p.state === "awaiting-approval" ? `<button data-decide="approve" data-id="${p.id}">approve</button> <button data-decide="reject" data-id="${p.id}">reject</button>` : esc(p.outcome || "")}</td></tr>`).join("");
      return `<h1>Repairs</h1><table><tr><th>PLAN</th><th>CLUSTER</th><th>RUNBOOK</th><th>MEMBER</th><th>STATE</th><th>BY</th><th>STEPS</th><th></th></tr>${rows}</table>`;
    }
    async function audit() {
      const [entries, check] = await Promise.all([api("/v1/audit?limit=100"), api("/v1/audit/verify")]);
      const rows = entries.map((e) => `<tr><td>${e.seq}</td><td>${when(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td>
        <td>${esc(e.subject || e.cluster)}</td><td>${esc(e.result)}</td><td class="muted">${esc(e.reason)}</td></tr>`).join("");
      return `<h1>Audit log</h1><p id="chain" class="${check.ok ? "healthy" : "failed"}">${check.ok ? `hash chain intact: ${check.entries} entries` : `hash chain BROKEN at entry ${check.firstBadSeq}: ${esc(check.problem)}`}</p>
        <table><tr><th>SEQ</th><th>AT</th><th>ACTOR</th><th>ACTION</th><th>SUBJECT</th><th>RESULT</th><th>WHY</th></tr>${rows}</table>`;
    }
    async function drills() {
      const suites = await api("/v1/drills?limit=20");
      if (!suites.length) return `<h1>Drills</h1><p class="muted">No drill reports yet: vigil drill run writes them under the directory api.drillReports names.</p>`;
      const runs = (s, scenario) => s.runs.filter((r) => r.scenario === scenario).map((r) => r.timeline
        ? `<a data-run="${esc(scenario)}-${r.number}" class="${r.passed ? "" : "failed"}" title="${esc(r.problems.join("; ") || "passed")}"
            href="#/drill/${encodeURIComponent(s.id)}/${encodeURIComponent(r.timeline.split("/").pop())}">#${r.number}</a>`
        : `#${r.number}`).join(" ");
      return `<h1>Drills</h1>` + suites.map((s) => `<h2 data-suite="${esc(s.id)}">${when(s.startedAt)} <span class="muted">seed ${esc(s.seed)}</span></h2>
        <table><tr><th>SCENARIO</th><th>PASSED</th><th>MTTD</th><th>MTTR</th><th>CLIENTS UNAVAILABLE</th><th>LOST WRITES</th><th>RUNS (TIMELINES)</th></tr>
        ${s.summaries.map((m) => `<tr data-scenario="${esc(m.scenario)}"><td>${esc(m.scenario)}</td>
          <td class="${m.passed === m.runs ? "healthy" : "failed"}">${m.passed}/${m.runs}</td>
          <td>${secs(m.mttd.median)}</td><td>${secs(m.mttr.median)}</td><td>${secs(m.unavailable.median)}</td>
          <td class="${m.lostWrites ? "failed" : ""}">${m.lostWrites}</td><td>${runs(s, m.scenario)}</td></tr>`).join("")}</table>`).join("")
        + `<p class="muted">Medians over each scenario's runs.</p>`;
    }
    async function drillTimeline(suite, file) {
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const r = await fetch(`/v1/drills/${encodeURIComponent(suite)}/${encodeURIComponent(file)}`, { headers });
      if (r.status === 401) { document.getElementById("auth").style.display = "block"; throw new Error("a token is needed"); }
      if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || ("HTTP " + r.status));
      // The timeline is a page of its own (SVG, no script), shown in a frame where no script may run.
      return `<h1>Drill ${esc(suite)}: ${esc(file)}</h1><p><a href="#/drills">← every drill</a></p>
        <iframe id="timeline" sandbox="allow-same-origin" style="width:100%;height:75vh;border:1px solid #ddd" srcdoc="${esc(await r.text())}"></iframe>`;
    }
    async function render() {
      const hash = location.hash || "#/";
      const [, page, arg, more] = hash.slice(1).split("/");
      document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("on", a.dataset.nav === (page === "drill" ? "drills" : page || "fleet")));
      try {
        view.innerHTML = !page ? await fleet() : page === "cluster" ? await cluster(decodeURIComponent(arg))
          : page === "incident" ? await incident(arg) : page === "repairs" ? await repairs() : page === "audit" ? await audit()
          : page === "drills" ? await drills() : page === "drill" ? await drillTimeline(decodeURIComponent(arg), decodeURIComponent(more || ""))
          : "no such page";
        document.body.dataset.rendered = hash;
      } catch (e) { view.innerHTML = `<p class="failed">${esc(e.message)}</p>`; }
    }
    view.addEventListener("click", async (ev) => {
      const b = ev.target.closest("button[data-decide]");
      if (!b) return;
      const reason = b.dataset.decide === "reject" ? prompt("Why reject it?") || "" : "";
      try { await api(`/v1/repairs/${b.dataset.id}/${b.dataset.decide}`, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ operator: "dashboard", reason }) }); } catch (e) { alert(e.message); }
      render();
    });
    async function stream() {
      const live = document.getElementById("live");
      try {
        const headers = token ? { Authorization: "Bearer " + token } : {};
        const r = await fetch("/v1/events", { headers });
        if (r.status === 401) { document.getElementById("auth").style.display = "block"; live.textContent = "needs a token"; return; }
        if (!r.ok) { live.textContent = "updates refused (HTTP " + r.status + ")"; setTimeout(stream, 5000); return; }
        const reader = r.body.getReader(); const decoder = new TextDecoder(); let text = "";
        live.textContent = "live";
        for (;;) {
          const { value, done } = await reader.read(); if (done) break;
          text += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = text.indexOf("\n\n")) >= 0) {
            const chunk = text.slice(0, cut); text = text.slice(cut + 2);
            const data = chunk.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) { status = JSON.parse(data); const h = location.hash || "#/"; if (h === "#/" || h.startsWith("#/cluster/")) render(); }
          }
        }
        setTimeout(stream, 100);
        return;
      } catch (e) { live.textContent = "disconnected"; }
      setTimeout(stream, 2000);
    }
    window.addEventListener("hashchange", render);
    stream();
    render();
    </script>
    </body>
    </html>
    """#
}

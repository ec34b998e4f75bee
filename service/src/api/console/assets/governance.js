// The console's governance pages (issue 28): the audit log (admins; newest first,
// filtered by actor, action and outcome, a page at a time) and who may start what (the
// CI ID-token trust policies and the latest refusals with their reasons). Loaded only on
// those pages; it uses console.js's helpers, and sets server text with textContent only.
"use strict";

(function () {
  const f = window.faultline;
  const { $, el, fill, when, getJson, base } = f;

  function outcome(o) {
    return el("span", { class: "badge o-" + o, text: o });
  }

  // An actor as a person reads it: its kind, its name, and the pipeline it came from.
  function actor(a) {
    const span = el("span", { class: "actor" }, el("span", { class: "muted", text: a.kind + " " }), el("strong", { text: a.name }));
    const from = [a.project, a.ref, a.pipeline ? "pipeline " + a.pipeline : null].filter(Boolean).join(" · ");
    if (from) span.append(el("span", { class: "muted", text: " (" + from + ")" }));
    return span;
  }

  const AUDIT_FILTERS = ["actor", "action", "outcome"];

  async function audit() {
    const params = new URLSearchParams(location.search);
    const form = $("audit-filters");
    for (const k of AUDIT_FILTERS) if (params.get(k)) form.elements[k].value = params.get(k);
    const q = new URLSearchParams({ limit: "50" });
    for (const k of AUDIT_FILTERS.concat(["before"])) if (params.get(k)) q.set(k, params.get(k));
    const data = await getJson("audit?" + q);
    fill($("audit").tBodies[0], data.records.map((r) => el("tr", { "data-audit": r.id, "data-outcome": r.outcome },
      el("td", { text: when(r.at) }), el("td", {}, actor(r.actor)), el("td", {}, el("code", { text: r.action })),
      el("td", { text: r.object }), el("td", {}, outcome(r.outcome)), el("td", { text: r.reason || "" }))),
    "no records match", 6);
    if (data.next) {
      const next = new URL(data.next, location.href).searchParams;
      params.set("before", next.get("before"));
      const older = $("audit-older");
      older.href = base + "audit?" + params;
      older.hidden = false;
    }
    if (params.get("before")) $("audit-newer").hidden = false;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const k of AUDIT_FILTERS) if (form.elements[k].value) p.set(k, form.elements[k].value);
      location.assign(base + "audit" + (p.toString() ? "?" + p : ""));
    });
  }

  function claims(c) {
    const ul = el("ul", { class: "claims" });
    for (const [k, v] of Object.entries(c)) {
      ul.append(el("li", {}, el("code", { text: k }), " = ", el("code", { text: Array.isArray(v) ? v.join(" | ") : String(v) })));
    }
    return ul;
  }

  async function access() {
    const me = f.me();
    const p = await getJson("auth/policies");
    $("policies-state").textContent = p.enabled
      ? "GitLab CI jobs sign in with ID tokens from " + p.issuer + " for audience " + p.audience +
        " (leeway " + p.leewaySeconds + " s). Each policy binds claims to the experiments and namespaces a job may start."
      : "GitLab CI ID tokens are not enabled on this server (serve --id-token-config): jobs use static tokens.";
    fill($("policies").tBodies[0], p.policies.map((x) => el("tr", { "data-policy": x.name },
      el("td", {}, el("strong", { text: x.name }), el("span", { class: "muted", text: " line " + x.line })),
      el("td", {}, claims(x.claims)), el("td", { text: x.experiments.join(", ") || "—" }),
      el("td", { text: x.namespaces.join(", ") || "—" }), el("td", { text: x.role }))),
    p.enabled ? "no policies" : "none", 5);
    fill($("token-refusals").tBodies[0], p.refusals.slice().reverse().map((r) => el("tr", {},
      el("td", { text: when(r.at) }), el("td", {}, el("code", { text: r.reason })), el("td", { text: r.status }),
      el("td", { text: [r.projectPath, r.gitRef, r.pipelineId ? "pipeline " + r.pipelineId : null, r.jobId ? "job " + r.jobId : null].filter(Boolean).join(" · ") || "—" }),
      el("td", { text: r.message }))), "none", 5);
    // The audit log is an admin's to read: others are told so, not shown an error.
    if (me.role !== "admin") {
      fill($("refusals").tBodies[0], [], "the audit log's refusals are shown to admins", 5);
      return;
    }
    const log = await getJson("audit?outcome=refused&limit=20");
    fill($("refusals").tBodies[0], log.records.map((r) => el("tr", { "data-audit": r.id },
      el("td", { text: when(r.at) }), el("td", {}, actor(r.actor)), el("td", {}, el("code", { text: r.action })),
      el("td", { text: r.object }), el("td", { text: r.reason }))), "no refusals", 5);
  }

  f.pages.audit = audit;
  f.pages.access = access;
})();

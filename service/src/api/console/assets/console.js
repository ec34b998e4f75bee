// faultline's web console. One script, no framework: it reads the page the server
// rendered, fetches data from /api/v1 with the signed-in token, and writes it into the
// page. Text from the server is only ever set with textContent (never innerHTML), so a
// name, reason or ref holding markup shows as text. The token lives in sessionStorage
// and travels in the Authorization header only.
"use strict";

(function () {
  const body = document.body;
  const base = body.dataset.base || "/";
  const page = body.dataset.page;
  const arg = body.dataset.arg;
  const TOKEN = "faultline.token";
  const TERMINAL = ["passed", "failed", "aborted", "error"];
  let me = null;

  // ---- helpers -------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  // Builds an element; children are nodes or strings (strings become text nodes).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = String(v);
      else if (k === "href") e.setAttribute("href", safeHref(v));
      else e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // Only http(s) and same-site links: a project URL of `javascript:...` is not followed.
  function safeHref(v) {
    const s = String(v);
    if (s.startsWith("/") && !s.startsWith("//")) return s;
    try {
      const u = new URL(s);
      if (u.protocol === "http:" || u.protocol === "https:") return u.href;
    } catch (_) { /* not a URL */ }
    return "#";
  }

  function showError(msg) {
    const e = $("error");
    e.textContent = msg;
    e.hidden = !msg;
  }

  function badge(state) {
    return el("span", { class: "badge " + badgeClass(state), text: state });
  }

  function badgeClass(state) {
    return TERMINAL.includes(state) ? "b-" + state : "b-running";
  }

  function when(t) {
    if (!t) return "—";
    const d = new Date(t);
    return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  function duration(a, b) {
    if (!a) return "—";
    const ms = (b ? new Date(b) : new Date()) - new Date(a);
    if (!(ms >= 0)) return "—";
    const s = Math.round(ms / 1000);
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  function num(v) {
    return v === null || v === undefined ? "—" : Number(v).toFixed(4).replace(/\.?0+$/, "");
  }

  function fill(tbody, rows, empty, cols) {
    tbody.replaceChildren(...rows);
    if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: cols, class: "muted", text: empty })));
  }

  // A readable message from an API answer: its `error` and each detail with its line.
  async function apiMessage(res) {
    let text = "";
    try { text = await res.text(); } catch (_) { /* none */ }
    try {
      const j = JSON.parse(text);
      let msg = j.error || text;
      for (const d of j.details || []) {
        msg += "\n" + (d.line ? "line " + d.line + (d.column ? ":" + d.column : "") + ": " : "") +
          (d.path ? d.path + ": " : "") + d.message;
      }
      return msg;
    } catch (_) {
      return text || res.status + " " + res.statusText;
    }
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const t = sessionStorage.getItem(TOKEN);
    if (t) h.Authorization = "Bearer " + t;
    // Signed in by SSO, the session cookie authenticates: the server wants this header on
    // every request that changes something (another site's page cannot send it).
    h["X-Faultline-CSRF"] = "1";
    return h;
  }

  async function api(path, opts) {
    const o = Object.assign({}, opts || {});
    o.headers = headers(o.headers);
    o.credentials = "same-origin";
    let res;
    try {
      res = await fetch(base + "api/v1/" + path, o);
    } catch (e) {
      throw new ApiError(0, "the server did not answer (" + e.message + ")");
    }
    if (res.status === 401 && page !== "signin") {
      sessionStorage.removeItem(TOKEN);
      location.assign(base + "signin");
      throw new ApiError(401, "signed out");
    }
    if (!res.ok) throw new ApiError(res.status, await apiMessage(res));
    return res;
  }

  const getJson = async (path) => (await api(path)).json();

  function post(path, json) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(json || {}),
    });
  }

  // Runs `action` once at a time from `button`: disabled until it settles.
  function once(button, action) {
    button.addEventListener("click", async (ev) => {
      ev.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      try {
        showError("");
        await action();
      } catch (e) {
        if (e.status !== 401) showError(e.message);
      } finally {
        button.disabled = false;
      }
    });
  }

  // Downloads an API file with the token (a plain link cannot carry it).
  async function download(path, name) {
    const blob = await (await api(path)).blob();
    const a = el("a", { download: name });
    a.href = URL.createObjectURL(blob);
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // ---- layout: who, emergency stop -----------------------------------------------
  async function layout() {
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === page || (page === "run" && a.dataset.nav === "runs") ||
          (page === "experiment" && a.dataset.nav === "experiments")) a.classList.add("here");
    }
    const out = $("signout");
    out.addEventListener("click", async () => {
      sessionStorage.removeItem(TOKEN);
      if (me && me.auth === "sso") return ssoSignOut();
      location.assign(base + "signin");
    });
    me = await getJson("whoami");
    $("who").textContent = me.name + " · " + me.role;
    // Links to pages only some roles may read (the API refuses the others anyway).
    for (const a of document.querySelectorAll("[data-roles]")) {
      a.hidden = !a.dataset.roles.split(" ").includes(me.role);
    }
    body.classList.add("role-" + me.role);
    out.hidden = me.auth !== "token" && me.auth !== "sso";
    await haltBanner();
    setInterval(() => haltBanner().catch(() => {}), 5000);
    $("stopall-bar").hidden = !me.canStopAll;
    $("stopall").addEventListener("click", () => {
      $("stopall-form").hidden = false;
      $("stopall").hidden = true;
      $("stopall-reason").focus();
    });
    $("stopall-no").addEventListener("click", () => {
      $("stopall-form").hidden = true;
      $("stopall").hidden = false;
    });
    $("stopall-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const yes = $("stopall-yes");
      if (yes.disabled) return;
      yes.disabled = true;
      try {
        showError("");
        await post("emergency-stop", { reason: $("stopall-reason").value });
        $("stopall-form").hidden = true;
        $("stopall").hidden = false;
        await haltBanner();
      } catch (e) {
        showError(e.message);
      } finally {
        yes.disabled = false;
      }
    });
    $("resume").addEventListener("click", () => {
      $("resume-confirm").hidden = false;
      $("resume").hidden = true;
    });
    $("resume-no").addEventListener("click", () => {
      $("resume-confirm").hidden = true;
      $("resume").hidden = !me.canResume;
    });
    once($("resume-yes"), async () => {
      await api("emergency-stop", { method: "DELETE" });
      $("resume-confirm").hidden = true;
      await haltBanner();
    });
  }

  async function haltBanner() {
    const h = await getJson("emergency-stop");
    $("halt").hidden = !h.engaged;
    if (h.engaged) {
      $("halt-text").textContent = "“" + h.halt.reason + "” — by " + h.halt.actor + " since " + when(h.halt.at);
      if ($("resume-confirm").hidden) $("resume").hidden = !me.canResume;
    }
    $("stopall").disabled = !!h.engaged;
    body.classList.toggle("halted", !!h.engaged);
  }

  // ---- single sign-on (the session cookie; /auth/*) ---------------------------------
  // Ends the session on the server, then goes where it says: the provider's sign-out
  // when it offers one, else this sign-in page.
  async function ssoSignOut() {
    let next = base + "signin";
    try {
      const res = await fetch(base + "auth/logout", {
        method: "POST", headers: headers(), credentials: "same-origin",
      });
      if (res.ok) next = (await res.json()).next || next;
    } catch (_) { /* the cookie may be gone already: the sign-in page says so */ }
    location.assign(next);
  }

  // Shows "Sign in with SSO" when the server has it; goes on when a session exists.
  async function ssoSignIn() {
    try {
      const res = await fetch(base + "auth/config", { credentials: "same-origin" });
      if (res.ok && (await res.json()).sso) $("sso-box").hidden = false;
    } catch (_) { return; }
    if (sessionStorage.getItem(TOKEN)) return;
    const who = await fetch(base + "api/v1/whoami", { credentials: "same-origin" });
    if (who.ok && (await who.json()).auth === "sso") location.assign(base);
  }

  // ---- sign in ---------------------------------------------------------------------
  function signin() {
    ssoSignIn();
    $("signin-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN, $("token").value.trim());
      try {
        const who = await getJson("whoami");
        showError("");
        location.assign(base);
        return who;
      } catch (e) {
        sessionStorage.removeItem(TOKEN);
        showError(e.status === 401 ? "That token is not known to this server." : e.message);
      }
    });
  }

  // ---- runs ------------------------------------------------------------------------
  function trigger(run) {
    const g = run.gitlab;
    if (!g) return el("span", { class: "muted", text: "API or schedule" });
    const project = g.projectUrl || "";
    const span = el("span", { class: "trigger" });
    span.append(project ? el("a", { href: project, text: g.projectPath }) : g.projectPath);
    if (g.gitRef) span.append(" ", el("code", { text: g.gitRef }));
    const sha = (g.sha || "").slice(0, 8);
    span.append(" ", project ? el("a", { href: project + "/-/commit/" + g.sha, text: sha }) : sha);
    if (g.pipelineId) span.append(" ", project ? el("a", { href: project + "/-/pipelines/" + g.pipelineId, text: "pipeline " + g.pipelineId }) : "pipeline " + g.pipelineId);
    if (g.mrIid) span.append(" ", project ? el("a", { href: project + "/-/merge_requests/" + g.mrIid, text: "!" + g.mrIid }) : "!" + g.mrIid);
    if (g.environment) span.append(" ", el("span", { class: "muted", text: "env " + g.environment }));
    return span;
  }

  // The filters the runs page sends to the API; `state` is still read from old links.
  const RUN_FILTERS = ["experiment", "verdict", "project", "since", "until"];

  // A datetime-local value (the browser's own time) as RFC 3339 in UTC, for the API.
  function utc(local) {
    const d = new Date(local);
    return isNaN(d) ? local : d.toISOString();
  }

  async function runs() {
    const params = new URLSearchParams(location.search);
    const form = $("filters");
    for (const k of RUN_FILTERS) {
      if (params.get(k)) form.elements[k].value = params.get(k);
    }
    // The store filters (GET /api/v1/runs): every page of the answer matches them.
    const q = new URLSearchParams({ limit: "50" });
    for (const k of ["experiment", "verdict", "state", "project", "before"]) if (params.get(k)) q.set(k, params.get(k));
    for (const k of ["since", "until"]) if (params.get(k)) q.set(k, utc(params.get(k)));
    const [data, trend] = await Promise.all([getJson("runs?" + q), getJson("verdict-trends?last=20")]);
    fill($("runs").tBodies[0], data.runs.map((r) => el("tr", { "data-run": r.id },
      el("td", {}, el("a", { href: base + "runs/" + encodeURIComponent(r.id), text: r.id })),
      el("td", { text: r.experiment }),
      el("td", {}, trigger(r)),
      el("td", {}, badge(r.state)),
      el("td", { text: when(r.createdAt) }),
      el("td", { text: duration(r.createdAt, r.finishedAt) }))), "no runs match", 6);
    // Each experiment's last verdicts from the store (whatever page is shown), newest on
    // the right.
    $("trends").replaceChildren(...trend.experiments.map((t) => el("div", { class: "trend", "data-experiment": t.experiment },
      el("span", { class: "trend-name", text: t.experiment }),
      ...t.runs.slice().reverse().map((r) =>
        el("a", { class: "cell " + badgeClass(r.verdict), href: base + "runs/" + encodeURIComponent(r.id), title: r.verdict + " · " + when(r.createdAt) })))));
    if (!trend.experiments.length) $("trends").append(el("span", { class: "muted", text: "no finished runs yet" }));
    if (data.next) {
      const next = new URL(data.next, location.href).searchParams;
      params.set("before", next.get("before"));
      const older = $("older");
      older.href = base + "?" + params;
      older.hidden = false;
    }
    if (params.get("before")) $("newer").hidden = false;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = new URLSearchParams();
      for (const k of RUN_FILTERS) {
        if (form.elements[k].value) p.set(k, form.elements[k].value);
      }
      location.assign(base + (p.toString() ? "?" + p : ""));
    });
  }

  // ---- one run, live ---------------------------------------------------------------
  async function run() {
    const id = arg;
    const path = "runs/" + encodeURIComponent(id);
    let state = "";
    let refreshing = null;
    let again = false;

    for (const a of document.querySelectorAll("[data-file]")) {
      a.href = base + "api/v1/" + path + "/" + a.dataset.file;
      a.addEventListener("click", (ev) => {
        ev.preventDefault();
        download(path + "/" + a.dataset.file, id + "-" + a.dataset.file).catch((e) => showError(e.message));
      });
    }
    $("abort").addEventListener("click", () => {
      $("abort-form").hidden = false;
      $("abort").hidden = true;
      $("abort-reason").focus();
    });
    $("abort-no").addEventListener("click", () => {
      $("abort-form").hidden = true;
      buttons();
    });
    $("abort-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const yes = $("abort-yes");
      if (yes.disabled) return;
      yes.disabled = true;
      try {
        showError("");
        await post(path + "/abort", { reason: $("abort-reason").value });
        $("abort-form").hidden = true;
        $("live").textContent = "aborting…";
        await refresh();
      } catch (e) {
        showError(e.message);
        yes.disabled = false;
      }
    });

    function buttons() {
      const live = state && !TERMINAL.includes(state);
      $("abort").hidden = !(me && me.canAbort && live) || !$("abort-form").hidden;
      if (!live) $("abort-form").hidden = true;
    }

    function draw(r) {
      state = r.verdict;
      document.title = r.experiment + " " + r.verdict + " · faultline";
      $("run-experiment").textContent = r.experiment;
      $("run-state").className = "badge " + badgeClass(r.verdict);
      $("run-state").textContent = r.verdict;
      $("run-reason").textContent = r.reason ? "— " + r.reason : "";
      // A state is done once the run has been in it; the current one is "now".
      const seen = new Set(r.events.map((e) => e.type === "stateChanged" ? e.to : null));
      seen.add("pending");
      const over = TERMINAL.includes(r.verdict);
      for (const li of $("progress").children) {
        const s = li.dataset.state;
        if (s === "verdict") {
          li.className = over ? "done " + badgeClass(r.verdict) : "";
          li.textContent = over ? r.verdict : "verdict";
        } else {
          li.className = s === r.verdict ? "now" : (seen.has(s) ? "done" : "");
        }
      }
      const t = $("trigger");
      t.replaceChildren(el("span", { text: "started " + when(r.startedAt) + " · " + duration(r.startedAt, r.finishedAt) + " · by " }),
        trigger(r));
      const g = body.dataset.grafana;
      if (g) {
        const from = new Date(r.startedAt).getTime() - 60000;
        const to = r.finishedAt ? new Date(r.finishedAt).getTime() + 60000 : "now";
        const dash = body.dataset.dashboard;
        const link = $("grafana");
        link.href = g.replace(/\/$/, "") + (dash ? "/d/" + encodeURIComponent(dash) : "/") + "?from=" + from + "&to=" + to;
        link.hidden = false;
      }
      fill($("checks").tBodies[0], r.checks.map((c) => el("tr", {},
        el("td", { text: c.check }), el("td", { text: c.phase }), el("td", {}, el("code", { text: c.expect })),
        el("td", { class: c.ok ? "good" : "bad", text: c.evaluations ? (c.ok ? "held" : "FAILED") : "—" }),
        el("td", { text: num(c.last) }), el("td", { text: num(c.min) }), el("td", { text: num(c.max) }),
        el("td", { text: (c.evaluations - c.failures) + "/" + c.evaluations }))), "no checks yet", 8);
      fill($("faults").tBodies[0], r.faults.map((f) => el("tr", {},
        el("td", { text: f.step }), el("td", { text: f.kind }), el("td", { text: f.target }),
        el("td", { text: when(f.startedAt) }), el("td", { text: f.endedAt ? when(f.endedAt) : "active" }),
        el("td", { text: f.state }))), "no faults injected yet", 6);
      fill($("events").tBodies[0], r.events.map(eventRow), "no events yet", 3);
      buttons();
    }

    function eventRow(e) {
      // A stored event is its seq and time with the event's own fields beside them.
      const ev = Object.assign({}, e);
      const type = ev.type;
      for (const k of ["type", "seq", "at"]) delete ev[k];
      const detail = Object.entries(ev).map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v))).join(" ");
      return el("tr", { "data-seq": e.seq }, el("td", { class: "muted", text: e.seq }),
        el("td", { class: "muted", text: when(e.at) }), el("td", {}, el("strong", { text: type }), " ", detail));
    }

    async function timeline() {
      const svg = await (await api(path + "/timeline.svg")).text();
      const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      const node = doc.documentElement;
      if (node.nodeName !== "svg") return;
      $("timeline").replaceChildren(document.importNode(node, true));
    }

    async function active() {
      const a = await getJson(path + "/active-faults");
      fill($("active").tBodies[0], a.faults.map((f) => el("tr", {},
        el("td", { text: f.step }), el("td", { text: f.kind }), el("td", { text: f.targets.join(", ") }),
        el("td", { text: f.executor }), el("td", { text: when(f.leaseExpires) }))), "none", 5);
    }

    // One refresh at a time; news during one asks for one more after it.
    async function refresh() {
      if (refreshing) { again = true; return refreshing; }
      refreshing = (async () => {
        do {
          again = false;
          const r = await getJson(path);
          draw(r);
          await Promise.all([timeline(), active()]);
        } while (again);
      })().finally(() => { refreshing = null; });
      return refreshing;
    }

    await refresh();
    follow(path + "/events", () => refresh().catch((e) => showError(e.message)),
      () => TERMINAL.includes(state));
  }

  // Reads the run's SSE stream with fetch (EventSource cannot send the token),
  // reconnecting with Last-Event-ID until the stream says `end`.
  async function follow(path, onNews, finished) {
    let last = 0;
    const live = $("live");
    for (;;) {
      if (finished()) { live.textContent = ""; return; }
      live.textContent = "● live";
      let ended = false;
      try {
        const res = await api(path, { headers: last ? { "Last-Event-ID": String(last) } : {} });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut;
          while ((cut = buf.indexOf("\n\n")) >= 0) {
            const frame = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let type = "message";
            for (const line of frame.split("\n")) {
              if (line.startsWith("id:")) last = Number(line.slice(3).trim()) || last;
              if (line.startsWith("event:")) type = line.slice(6).trim();
            }
            if (frame.startsWith(":")) continue;
            if (type === "end") ended = true;
            onNews();
          }
        }
      } catch (e) {
        if (e.status === 401 || e.status === 404) { showError(e.message); return; }
      }
      if (ended) { live.textContent = ""; onNews(); return; }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  // ---- experiments -----------------------------------------------------------------
  async function startRun(name) {
    const res = await post("experiments/" + encodeURIComponent(name) + "/runs");
    const created = await res.json();
    location.assign(base + "runs/" + encodeURIComponent(created.id));
  }

  async function experiments() {
    const data = await getJson("experiments");
    fill($("experiments").tBodies[0], data.experiments.map((x) => {
      const start = el("button", { type: "button", class: "start", text: "Start" });
      start.hidden = !me.canStart;
      once(start, () => startRun(x.name));
      return el("tr", { "data-experiment": x.name },
        el("td", {}, el("a", { href: base + "experiments/" + encodeURIComponent(x.name), text: x.name })),
        el("td", { text: x.source }), el("td", { text: when(x.updatedAt) }), el("td", {}, start));
    }), "the catalog is empty: add experiments with `serve --experiments DIR` or POST /api/v1/experiments", 4);
  }

  async function experiment() {
    const name = arg;
    const x = await getJson("experiments/" + encodeURIComponent(name));
    const yaml = $("yaml");
    yaml.value = x.text;
    const dl = $("download");
    dl.href = URL.createObjectURL(new Blob([x.text], { type: "application/yaml" }));
    dl.setAttribute("download", name + ".yaml");
    const start = $("start");
    start.hidden = !me.canStart;
    once(start, () => startRun(name));
    once($("validate"), async () => {
      const out = $("verdict");
      out.hidden = false;
      out.className = "card";
      out.replaceChildren(el("span", { class: "muted", text: "checking…" }));
      try {
        const res = await post("runs", { experiment: yaml.value, dryRun: true });
        const plan = await res.json();
        out.className = plan.refusal ? "card bad" : "card ok";
        // plan.js draws it (targets, blast radius, guard, faults) with a raw toggle.
        const drawn = window.faultlinePlan ? window.faultlinePlan(plan, el) : [];
        out.replaceChildren(el("strong", { text: "Valid. Dry run (nothing injected):" }), ...drawn);
      } catch (e) {
        out.className = "card bad";
        out.replaceChildren(el("strong", { text: e.status === 403 ? "Not allowed" : "Not valid" }),
          el("pre", { class: "code", text: e.message }));
      }
    });
    const file = "experiments/" + name + ".yaml";
    $("ci-path").textContent = file;
    $("ci").textContent = [
      "stages: [deploy, chaos]",
      "",
      "include:",
      "  - local: ci/faultline.gitlab-ci.yml",
      "    # or: - component: $CI_SERVER_FQDN/<group>/<project>/faultline@<version>",
      "    inputs:",
      "      experiment: " + file,
      "      job-name: chaos-" + name,
      "      timeout: 15m",
      "",
      "chaos-" + name + ":",
      "  needs: [deploy]",
    ].join("\n");
  }

  // ---- schedules, agents -----------------------------------------------------------
  async function schedules() {
    // Each experiment's last verdict from the store, however long ago it ran.
    const [data, trends] = await Promise.all([getJson("schedules"), getJson("verdict-trends?last=1")]);
    const last = new Map(trends.experiments.map((t) => [t.experiment, { id: t.runs[0].id, state: t.runs[0].verdict }]));
    fill($("schedules").tBodies[0], data.schedules.map((s) => {
      const l = last.get(s.experiment);
      return el("tr", { "data-experiment": s.experiment },
        el("td", {}, el("a", { href: base + "experiments/" + encodeURIComponent(s.experiment), text: s.experiment })),
        el("td", {}, el("code", { text: s.cron })), el("td", { text: s.timezone }),
        el("td", { text: when(s.next) }),
        el("td", { text: s.next ? new Date(s.next).toLocaleString() : "—" }),
        el("td", {}, l ? el("a", { href: base + "runs/" + encodeURIComponent(l.id) }, badge(l.state)) : el("span", { class: "muted", text: "none yet" })),
        el("td", { text: s.started + " / " + s.skipped }));
    }), "no experiment in the catalog has a schedule", 7);
  }

  async function agents() {
    const data = await getJson("agents");
    fill($("agents").tBodies[0], data.agents.map((a) => el("tr", { "data-agent": a.name },
      el("td", { text: a.name }), el("td", { text: a.node || "—" }), el("td", { text: a.location || "—" }),
      el("td", { class: a.healthy ? "good" : "bad", text: a.healthy ? "healthy" : "unhealthy" + (a.error ? ": " + a.error : "") }),
      el("td", { text: a.version || "—" }), el("td", { text: a.activeFaults ?? "—" }))),
    data.cluster ? "no agent pods found (is the agent DaemonSet deployed?)" : "no agents", 6);
  }

  // ---- start -----------------------------------------------------------------------
  const pages = { runs, run, experiments, experiment, schedules, agents };

  // What the pages in other scripts (governance.js) use; they add themselves to `pages`
  // before DOMContentLoaded, when main() starts.
  window.faultline = {
    $, el, fill, badge, when, showError, getJson, once, pages, base,
    me: () => me,
  };

  async function main() {
    if (page === "signin") return signin();
    await layout();
    await pages[page]();
    // The page has drawn its data: P12 (bench/console_render.py) reads this mark.
    performance.mark("faultline-ready");
    body.dataset.ready = "1";
  }

  // Deferred scripts all run before DOMContentLoaded: by then every page is known.
  document.addEventListener("DOMContentLoaded", () => main().catch((e) => {
    if (e.status !== 401) showError(e.message || String(e));
    body.dataset.ready = "error";
  }));
})();

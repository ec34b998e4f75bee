// The dry-run plan as HTML (the experiment page's "Validate and dry run"): the guard's
// verdict, the blast radius, each target and what it resolves to now, the planned faults
// in order, and the checks; the API's JSON stays one click away ("raw"). Text from the
// server is set with textContent only (through console.js's `el`).
"use strict";

(function () {
  // How many things a resolved target stands for: pods or nodes counted by the cluster
  // (at most `atMost` chosen), or the local processes found.
  function reach(resolved) {
    if (!resolved) return null;
    if (typeof resolved.atMost === "number") return resolved.atMost;
    if (Array.isArray(resolved)) return resolved.length;
    for (const k of ["procs"]) {
      if (Array.isArray(resolved[k])) return resolved[k].length;
    }
    return 1;
  }

  function described(resolved) {
    if (!resolved) return "";
    if (typeof resolved.matchingPods === "number") {
      return resolved.matchingPods + " pods match, mode " + resolved.mode + ": at most " + resolved.atMost + " chosen";
    }
    if (typeof resolved.matchingNodes === "number") {
      return resolved.matchingNodes + " nodes match, mode " + resolved.mode + ": at most " + resolved.atMost + " chosen";
    }
    if (Array.isArray(resolved.procs)) {
      const n = resolved.procs.length;
      return n + " process" + (n === 1 ? "" : "es") + (resolved.netns ? " · netns " + resolved.netns : "") +
        ((resolved.cgroups || []).length ? " · cgroup " + (resolved.cgroups[0].path || JSON.stringify(resolved.cgroups[0])) : "");
    }
    return JSON.stringify(resolved);
  }

  function target(t) {
    return typeof t === "string" ? t : JSON.stringify(t);
  }

  function seconds(s) {
    return s === 0 ? "at start" : "+" + (Math.round(s * 10) / 10) + " s";
  }

  // The nodes to put under the heading, built with console.js's `el`.
  window.faultlinePlan = function (plan, el) {
    const out = [];
    out.push(el("p", { class: plan.refusal ? "guard bad" : "guard good", "data-guard": plan.refusal ? "refused" : "allowed" },
      el("strong", { text: "Guard: " }),
      plan.refusal ? "would refuse — " + plan.refusal : "would allow the run"));
    const counts = plan.targets.map((t) => reach(t.resolved));
    const known = counts.filter((n) => n !== null);
    out.push(el("p", { class: "blast", "data-blast": known.length === counts.length ? known.reduce((a, b) => a + b, 0) : "" },
      el("strong", { text: "Blast radius: " }),
      known.length === counts.length
        ? known.reduce((a, b) => a + b, 0) + " target(s) across " + counts.length + " selector(s)"
        : (known.length ? "at least " + known.reduce((a, b) => a + b, 0) + "; " : "") + "resolved when the run starts"));
    out.push(el("h3", { text: "Targets" }));
    const targets = el("table", { class: "list plan-targets" },
      el("thead", {}, el("tr", {}, el("th", { text: "target" }), el("th", { text: "resolves to now" }))));
    const tb = el("tbody");
    for (const t of plan.targets) {
      tb.append(el("tr", {}, el("td", {}, el("code", { text: target(t.target) }), t.ofNodes ? " (nodes)" : ""),
        el("td", { class: t.resolved ? "" : "muted", text: t.resolved ? described(t.resolved) : (t.note || "—") })));
    }
    targets.append(tb);
    out.push(targets);
    out.push(el("h3", { text: "Planned faults" }));
    const faults = el("table", { class: "list plan-faults" },
      el("thead", {}, el("tr", {}, ...["when", "step", "kind", "target", "holds"].map((h) => el("th", { text: h })))));
    const fb = el("tbody");
    for (const f of plan.faults) {
      fb.append(el("tr", {}, el("td", { text: seconds(f.startsAtSeconds) }), el("td", { text: f.step }),
        el("td", { text: f.kind }), el("td", { text: f.target }),
        el("td", { text: (f.untilAborted ? "until aborted (at most " + f.duration + ")" : (f.duration || "instant")) +
          (f.condition ? " · " + f.condition : "") + (f.repeats ? " · " + f.repeats : "") })));
    }
    if (!plan.faults.length) fb.append(el("tr", {}, el("td", { colspan: 5, class: "muted", text: "no faults" })));
    faults.append(fb);
    out.push(faults);
    if (plan.checks.length || (plan.statusChecks || []).length) {
      out.push(el("h3", { text: "Checks" }));
      const ul = el("ul", { class: "plan-checks" });
      for (const c of plan.checks) ul.append(el("li", { text: c }));
      for (const c of plan.statusChecks || []) ul.append(el("li", { text: c.check + " (" + seconds(c.startsAtSeconds) + "): " + c.explain }));
      out.push(ul);
    }
    const raw = el("pre", { class: "code plan-raw", text: JSON.stringify(plan, null, 2) });
    raw.hidden = true;
    const toggle = el("button", { type: "button", class: "plan-raw-toggle", text: "raw" });
    toggle.addEventListener("click", () => {
      raw.hidden = !raw.hidden;
      toggle.textContent = raw.hidden ? "raw" : "hide raw";
    });
    out.push(el("p", {}, toggle), raw);
    return out;
  };
})();

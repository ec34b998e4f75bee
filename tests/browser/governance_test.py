#!/usr/bin/env python3
"""The console's governance pages in a real browser (issue 28): the audit log and the
Access page (CI ID-token trust policies, the latest refusals with their reasons), against
a live `faultline serve` with an ID-token config, in Debian's headless chromium. Also the
runs page's server-side filters and the verdict trend strip, and the dry-run preview drawn
as HTML.

Uses console_test.py's server, browser and helpers; prints the same `BROWSER-RESULT` lines.

    tests/browser/governance_test.py [--binary target/debug/faultline] [--screenshot docs/console-audit.png]
"""

import base64
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_test import ADMIN, OPERATOR, VIEWER, XSS, By, Console, Server, browser  # noqa: E402
from harness import Runner, main, target_dir  # noqa: E402

MARKUP_REF = "<img src=x onerror=alert(5)>"

ID_TOKENS = f"""issuer: http://127.0.0.1:9/gitlab
audience: https://faultline.test
policies:
  - name: checkout-release
    claims:
      project_id: "42"
      ref: "{MARKUP_REF}"
    experiments: ["checkout-*"]
    namespaces: [checkout]
    role: operator
"""


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def hs256_token():
    """A JWT-shaped token with `alg: HS256`: refused before any key is fetched."""
    header = b64({"alg": "HS256", "typ": "JWT", "kid": "k1"})
    claims = b64({"iss": "http://127.0.0.1:9/gitlab", "aud": "https://faultline.test", "project_id": "42",
                  "project_path": "shop/checkout", "ref": "main", "job_id": "7", "exp": int(time.time()) + 300})
    return f"{header}.{claims}.c2lnbmF0dXJl"


def quick_yaml(name):
    # Ends at once with no fault: runs that give verdicts fast.
    return f"""apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  steps:
    - suspend: 50ms
"""


def plan_yaml(name, pid):
    # Only planned (dry run), never started: a pause of one process.
    return f"""apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steps:
    - name: pause
      processPause: {{}}
      duration: 5s
"""


def run_tests(binary, shots, screenshot=None):
    work = target_dir("tmp")
    os.makedirs(work, exist_ok=True)
    config = os.path.join(work, f"id-tokens-{os.getpid()}.yaml")
    with open(config, "w") as f:
        f.write(ID_TOKENS)
    server = Server(binary, extra_args=["--id-token-config", config])
    driver = browser()
    c = Console(driver, server)
    test = Runner(driver, shots)
    counts = test.counts

    # What the audit log then holds: 60 refused stop attempts by the viewer (more than a
    # page), a stop engaged with a reason holding markup and released, and a refused ID token.
    for _ in range(60):
        st, _ = server.call("POST", "/api/v1/emergency-stop", VIEWER, {"reason": "viewer tries"})
        assert st == 403, st
    st, body = server.call("POST", "/api/v1/emergency-stop", OPERATOR, {"reason": XSS})
    assert st in (200, 201), (st, body)
    st, body = server.call("DELETE", "/api/v1/emergency-stop", ADMIN)
    assert st in (200, 204), (st, body)
    st, body = server.call("GET", "/api/v1/runs", hs256_token())
    assert st == 401, (st, body)

    def rows(css):
        return driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(r => ({id: r.dataset.audit, "
            "outcome: r.dataset.outcome, text: r.innerText}))", css)

    def admin_reads_the_audit_log_newest_first_a_page_at_a_time():
        c.sign_in(ADMIN)
        assert c.visible("a[data-nav=audit]") and c.visible("a[data-nav=access]")
        c.open("/audit")
        page1 = rows("#audit tbody tr[data-audit]")
        assert len(page1) == 50, len(page1)
        ids = [int(r["id"]) for r in page1]
        assert ids == sorted(ids, reverse=True), "newest first"
        # The newest: the refused ID token, then the release, then the stop by olivia.
        assert "api.access" in page1[0]["text"] and page1[0]["outcome"] == "refused", page1[0]
        assert "emergency-stop.release" in page1[1]["text"] and "ada" in page1[1]["text"], page1[1]
        assert XSS in page1[2]["text"] and "olivia" in page1[2]["text"], page1[2]
        c.no_script_ran()
        driver.find_element(By.ID, "audit-older").click()
        c.wait(lambda d: "before=" in d.current_url and d.execute_script("return document.body.dataset.ready"),
               what="the older page")
        page2 = rows("#audit tbody tr[data-audit]")
        assert page2 and max(int(r["id"]) for r in page2) < min(ids), "the next page is older"
        assert c.visible("#audit-newer")
        if screenshot:  # the audit page, for docs/console.md
            c.open("/audit")
            driver.save_screenshot(screenshot)

    def the_audit_log_filters_by_actor_action_and_outcome():
        c.open("/audit")
        form = driver.find_element(By.ID, "audit-filters")
        form.find_element(By.NAME, "actor").send_keys("olivia")
        form.find_element(By.CSS_SELECTOR, "select[name=action] option[value='emergency-stop.engage']").click()
        form.find_element(By.CSS_SELECTOR, "select[name=outcome] option[value=ok]").click()
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        c.wait(lambda d: "actor=olivia" in d.current_url and d.execute_script("return document.body.dataset.ready"),
               what="the filtered page")
        got = rows("#audit tbody tr[data-audit]")
        assert len(got) == 1 and "olivia" in got[0]["text"] and got[0]["outcome"] == "ok", got
        c.open("/audit?outcome=refused&actor=vera")
        got = rows("#audit tbody tr[data-audit]")
        assert len(got) == 50 and all(r["outcome"] == "refused" and "vera" in r["text"] for r in got), got[:2]

    def access_shows_the_policies_and_the_latest_refusals_with_reasons():
        c.open("/access")
        assert "https://faultline.test" in c.text("#policies-state")
        policy = c.text("#policies tr[data-policy='checkout-release']")
        assert "project_id" in policy and "42" in policy and MARKUP_REF in policy, policy
        assert "checkout-*" in policy and "operator" in policy, policy
        refusals = c.text("#refusals tbody")
        assert "emergency-stop" in refusals and "vera" in refusals, refusals
        tokens = c.text("#token-refusals tbody")
        assert "HS256" in tokens or "alg" in tokens, tokens
        assert "shop/checkout" in tokens, tokens
        c.no_script_ran()

    def viewer_and_operator_see_no_audit_link_and_the_api_refuses_them():
        c.sign_in(VIEWER)
        assert not c.visible("a[data-nav=audit]") and not c.visible("a[data-nav=access]")
        c.sign_in(OPERATOR)
        assert not c.visible("a[data-nav=audit]") and c.visible("a[data-nav=access]")
        c.open("/access")
        assert "checkout-release" in c.text("#policies tbody")
        assert "shown to admins" in c.text("#refusals tbody"), c.text("#refusals tbody")
        c.open("/audit")
        c.wait(lambda d: c.visible("#error"), what="the refusal")
        assert "403" in c.text("#error") or "admin" in c.text("#error").lower(), c.text("#error")
        for token in (VIEWER, OPERATOR):
            st, _ = server.call("GET", "/api/v1/audit", token)
            assert st == 403, (token, st)
        st, _ = server.call("GET", "/api/v1/auth/policies", VIEWER)
        assert st == 403, st

    def runs_are_filtered_by_the_server_and_the_trend_comes_from_the_api():
        # 60 quick runs (more than the 50 of a page) of one experiment, then 1 of another:
        # the filter for the first must page through the store, not the fetched page.
        for name in ("gov-quick", "gov-other"):
            st, body = server.call("POST", "/api/v1/experiments", OPERATOR, quick_yaml(name), "application/yaml")
            assert st in (200, 201), (st, body)
        ids = []
        for i in range(61):
            name = "gov-other" if i == 0 else "gov-quick"
            st, body = server.call("POST", f"/api/v1/experiments/{name}/runs", OPERATOR, {})
            assert st == 201, (st, body)
            ids.append(body["id"])
        for run in ids:
            server.wait_terminal(run)
        c.sign_in(VIEWER)
        c.open("/?experiment=gov-other&verdict=passed")
        got = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr[data-run]")]
        assert len(got) == 1 and "gov-other" in got[0], got
        # Its strip is there though its run is not on the newest page of all runs.
        c.open("/")
        strip = driver.find_elements(By.CSS_SELECTOR, ".trend[data-experiment='gov-other'] .cell.b-passed")
        assert len(strip) == 1, len(strip)
        quick = driver.find_elements(By.CSS_SELECTOR, ".trend[data-experiment='gov-quick'] .cell")
        assert len(quick) == 20, len(quick)
        # A time range in the future holds nothing; a bad value is the API's readable 400.
        c.open("/?since=2999-01-01T00:00")
        assert "no runs match" in c.text("#runs tbody"), c.text("#runs tbody")
        c.open("/?project=" + "%3Cb%3E")
        c.wait(lambda d: c.visible("#error"), what="the 400")
        assert "project=<b>" in c.text("#error"), c.text("#error")
        c.no_script_ran()

    def the_dry_run_is_drawn_with_a_raw_toggle():
        sleeper = subprocess.Popen(["sleep", "600"])
        try:
            st, body = server.call("POST", "/api/v1/experiments", OPERATOR, plan_yaml("gov-plan", sleeper.pid),
                                   "application/yaml")
            assert st in (200, 201), (st, body)
            dry_run_drawn()
        finally:
            sleeper.kill()

    def dry_run_drawn():
        c.sign_in(OPERATOR)
        c.open("/experiments/gov-plan")
        driver.find_element(By.ID, "validate").click()
        c.wait(lambda d: c.visible("#verdict .plan-faults") or c.visible("#verdict .guard"), what="the plan")
        assert "would allow" in c.text("#verdict .guard"), c.text("#verdict .guard")
        assert "1 process" in c.text("#verdict .plan-targets"), c.text("#verdict .plan-targets")
        assert driver.execute_script("return document.querySelector('#verdict .blast').dataset.blast") == "1"
        assert not c.visible("#verdict .plan-raw")
        driver.find_element(By.CSS_SELECTOR, "#verdict .plan-raw-toggle").click()
        assert c.visible("#verdict .plan-raw") and '"dryRun": true' in c.text("#verdict .plan-raw")
        faults = c.text("#verdict .plan-faults")
        assert "processPause" in faults and "5s" in faults, faults
        if screenshot:
            driver.save_screenshot(screenshot.replace(".png", "-plan.png"))

    try:
        for t in [admin_reads_the_audit_log_newest_first_a_page_at_a_time,
                  the_audit_log_filters_by_actor_action_and_outcome,
                  access_shows_the_policies_and_the_latest_refusals_with_reasons,
                  viewer_and_operator_see_no_audit_link_and_the_api_refuses_them,
                  runs_are_filtered_by_the_server_and_the_trend_comes_from_the_api,
                  the_dry_run_is_drawn_with_a_raw_toggle]:
            test(t)
    finally:
        driver.quit()
        server.close()
        os.remove(config)
    print(f"browser governance: {counts['PASS']} passed, {counts['FAIL']} failed", flush=True)
    return counts["FAIL"] == 0


if __name__ == "__main__":
    main(run_tests, "also save the audit page (and -plan.png, a dry-run plan) here")

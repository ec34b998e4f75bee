#!/usr/bin/env python3
"""The web console in a real browser (issue 26): Debian's chromium driven over WebDriver
(chromium-driver + selenium), headless, against a live `faultline serve` on loopback with
the in-process agent. The runs are real: a `sleep` process is paused (SIGSTOP) while a
loopback HTTP server is checked, and each test that injects proves the pause took effect
and was removed.

Prints one `BROWSER-RESULT <name> PASS|FAIL|SKIP [why]` line per test (test.sh counts
them). On failure a screenshot and the page's HTML go to
$CARGO_TARGET_DIR/test-logs/browser/<name>.{png,html}.

    tests/browser/console_test.py [--binary target/debug/faultline] [--screenshot docs/console.png]
"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Runner, ServeProcess, main, skip_all  # noqa: E402

VIEWER, OPERATOR, ADMIN = "viewer-browser-0123456789", "operator-browser-0123456789", "admin-browser-0123456789"
XSS = "<img src=x onerror=alert(1)>"


try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip_all("python selenium is not installed (pip install selenium)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


class Quiet(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_):
        pass


def pause_yaml(name, pid, port, duration):
    return f"""apiVersion: faultline.dev/v1alpha1
kind: Experiment
metadata: {{ name: {name} }}
spec:
  target: {{ local: {{ pid: {pid} }} }}
  steadyState:
    - name: availability
      http: {{ url: "http://127.0.0.1:{port}/", every: 200ms, timeout: 500ms }}
      expect: ">= 0.99"
  steps:
    - name: pause
      processPause: {{}}
      duration: {duration}
"""


class Server(ServeProcess):
    """`faultline serve` on a loopback port over a temp state dir; stopped on close."""

    def __init__(self, binary, public_url=None, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="faultline-browser-")
        tokens = os.path.join(self.dir, "tokens")
        with open(tokens, "w") as f:
            # Named tokens (`role/name:token`): the console shows and the stop records the name.
            f.write(f"viewer/vera:{VIEWER}\noperator/olivia:{OPERATOR}\nadmin/ada:{ADMIN}\n")
        grafana_token = os.path.join(self.dir, "grafana-token")
        with open(grafana_token, "w") as f:
            f.write("unused\n")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--state-dir", self.dir,
                "--tokens-file", tokens,
                # Only for the "Open in Grafana" link: nothing listens there, annotations fail quietly.
                "--grafana-url", "http://127.0.0.1:9", "--grafana-token-file", grafana_token]
        if public_url:
            args += ["--public-url", public_url]
        args += list(extra_args)
        self.start(args)

    def call(self, method, path, token, body=None, content_type="application/json"):
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                text = res.read().decode()
                return res.status, (json.loads(text) if text.strip() else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def wait_terminal(self, run, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, r = self.call("GET", f"/api/v1/runs/{run}", VIEWER)
            if r["verdict"] in ("passed", "failed", "aborted", "error"):
                return r
            time.sleep(0.2)
        raise AssertionError(f"run {run} did not end")


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
              "--disable-gpu", "--no-first-run", "--disable-extensions"]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)


class Console:
    """The browser on one server, with the helpers the tests share."""

    def __init__(self, driver, server):
        self.d, self.s = driver, server

    def open(self, path):
        self.d.get(self.s.base + path)
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready || document.body.dataset.page === 'signin'"))

    def wait(self, cond, timeout=20, what=""):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(cond)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what or cond}") from None

    def sign_in(self, token):
        self.d.get(self.s.base + "/signin")
        self.d.find_element(By.ID, "token").send_keys(token)
        self.d.find_element(By.CSS_SELECTOR, "#signin-form button").click()
        self.wait(lambda d: d.execute_script("return document.body.dataset.page") == "runs"
                  and d.execute_script("return document.body.dataset.ready"), what="the runs page after sign-in")

    # Read in one script call: the page redraws as events arrive, so an element found in
    # one call may be gone by the next.
    def text(self, css):
        return self.d.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : ''", css)

    def visible(self, css):
        return self.d.execute_script(
            "const e = document.querySelector(arguments[0]); return !!e && e.getClientRects().length > 0", css)

    def no_script_ran(self):
        try:
            alert = self.d.switch_to.alert
            text = alert.text
            alert.dismiss()
            raise AssertionError(f"an alert ran: {text}")
        except NoAlertPresentException:
            pass
        assert not self.d.find_elements(By.CSS_SELECTOR, "main img, #trigger img, .error img"), "markup became an element"


def run_tests(binary, shots, screenshot):
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    web_port = web.server_address[1]
    sleepers = []

    def sleeper():
        p = subprocess.Popen(["sleep", "600"])
        sleepers.append(p)
        return p.pid

    server = Server(binary)
    driver = browser()
    c = Console(driver, server)
    test = Runner(driver, shots)
    counts = test.counts

    pass_pid = sleeper()
    long_pid = sleeper()
    for name, pid, dur in [("console-pass", pass_pid, "3s"), ("console-long", long_pid, "120s")]:
        st, body = server.call("POST", "/api/v1/experiments", OPERATOR, pause_yaml(name, pid, web_port, dur),
                               "application/yaml")
        assert st in (200, 201), (st, body)

    def sign_in_shows_who_and_role():
        c.sign_in(OPERATOR)
        assert c.text("#who") == "olivia · operator", c.text("#who")
        token_in_url = [e for e in driver.get_log("browser") if OPERATOR in e.get("message", "")]
        assert OPERATOR not in driver.current_url and not token_in_url

    def a_bad_token_gets_a_readable_message():
        driver.execute_script("sessionStorage.clear()")
        driver.get(server.base + "/signin")
        driver.find_element(By.ID, "token").send_keys("not-a-token")
        driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
        c.wait(lambda d: c.visible("#error"), what="the error line")
        assert "not known" in c.text("#error"), c.text("#error")
        c.sign_in(OPERATOR)

    def start_from_catalog_and_watch_it_live():
        c.open("/experiments")
        row = driver.find_element(By.CSS_SELECTOR, "tr[data-experiment='console-pass']")
        row.find_element(By.CSS_SELECTOR, "button.start").click()
        c.wait(lambda d: "/runs/" in d.current_url, what="the run page")
        seen, paused = set(), False
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                seen.add(c.text("#run-state"))
            except Exception:  # noqa: BLE001 - the badge is replaced as it changes
                pass
            paused = paused or proc_state(pass_pid) == "T"
            if seen & {"passed", "failed", "aborted", "error"}:
                break
            time.sleep(0.1)
        assert "passed" in seen, f"states seen: {seen}"
        assert seen & {"injecting", "observing"}, f"the live view never showed the fault: {seen}"
        assert paused, "the target was never paused"
        assert proc_state(pass_pid) != "T", "the pause outlived its run"
        c.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline svg rect"), what="a fault window")
        c.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline svg circle"), what="check results")
        assert "passed" in driver.find_element(By.CSS_SELECTOR, "#progress li[data-state=verdict]").text
        assert not c.visible("#abort"), "Abort is offered for a finished run"
        assert driver.find_elements(By.CSS_SELECTOR, "#events tr[data-seq]"), "no events"
        assert "from=" in driver.find_element(By.ID, "grafana").get_attribute("href")
        if screenshot:
            driver.save_screenshot(screenshot.replace(".png", "-run.png"))

    def abort_a_second_run_with_a_reason():
        c.open("/experiments/console-long")
        driver.find_element(By.ID, "start").click()
        c.wait(lambda d: "/runs/" in d.current_url, what="the run page")
        c.wait(lambda d: proc_state(long_pid) == "T", timeout=30, what="the pause")
        c.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#active tbody td") and c.text("#active tbody td") == "pause",
               what="the active fault with its lease")
        c.wait(lambda d: c.visible("#abort"), what="the Abort button")
        driver.find_element(By.ID, "abort").click()
        driver.find_element(By.ID, "abort-reason").send_keys("browser test says stop")
        yes = driver.find_element(By.ID, "abort-yes")
        yes.click()
        c.wait(lambda d: c.text("#run-state") == "aborted", timeout=40, what="aborted")
        c.wait(lambda d: "browser test says stop" in c.text("#run-reason"), what="the reason")
        assert proc_state(long_pid) != "T", "the pause outlived the abort"
        assert not c.visible("#abort")
        if screenshot:  # the runs page with both runs, for the README
            c.open("/")
            driver.save_screenshot(screenshot)

    def trip_and_release_the_emergency_stop():
        c.open("/")
        driver.find_element(By.ID, "stopall").click()
        driver.find_element(By.ID, "stopall-reason").send_keys("game day over")
        driver.find_element(By.ID, "stopall-yes").click()
        c.wait(lambda d: c.visible("#halt"), what="the banner")
        assert "game day over" in c.text("#halt-text") and "olivia" in c.text("#halt-text")
        assert not c.visible("#resume"), "an operator is offered Resume"
        c.open("/experiments")
        assert c.visible("#halt"), "the banner is not on every page"
        st, _ = server.call("POST", "/api/v1/experiments/console-pass/runs", OPERATOR)
        assert st == 503, f"a run started while stopped: {st}"
        c.sign_in(ADMIN)
        c.wait(lambda d: c.visible("#resume"), what="Resume for admin")
        driver.find_element(By.ID, "resume").click()
        driver.find_element(By.ID, "resume-yes").click()
        c.wait(lambda d: not c.visible("#halt"), what="the banner to go")
        st, h = server.call("GET", "/api/v1/emergency-stop", VIEWER)
        assert h["engaged"] is False

    def a_viewer_sees_no_start_or_abort_and_the_api_refuses_them():
        st, created = server.call("POST", "/api/v1/experiments/console-long/runs", OPERATOR)
        assert st == 201, (st, created)
        run = created["id"]
        try:
            c.sign_in(VIEWER)
            c.open("/experiments")
            starts = driver.find_elements(By.CSS_SELECTOR, "button.start")
            assert starts and not any(b.is_displayed() for b in starts), "Start shown to a viewer"
            assert not c.visible("#stopall"), "Stop all shown to a viewer"
            c.open(f"/runs/{run}")
            c.wait(lambda d: c.text("#run-state") not in ("", "pending"), what="the run to start")
            assert not c.visible("#abort"), "Abort shown to a viewer"
            st, _ = server.call("POST", f"/api/v1/runs/{run}/abort", VIEWER, {"reason": "x"})
            assert st == 403, st
            st, _ = server.call("POST", "/api/v1/experiments/console-pass/runs", VIEWER)
            assert st == 403, st
            st, _ = server.call("POST", "/api/v1/emergency-stop", VIEWER, {"reason": "x"})
            assert st == 403, st
        finally:
            server.call("POST", f"/api/v1/runs/{run}/abort", OPERATOR, {"reason": "test cleanup"})
            server.wait_terminal(run)
        assert proc_state(long_pid) != "T", "the pause outlived its run"

    def markup_in_names_reasons_and_refs_is_shown_as_text():
        st, body = server.call("POST", "/api/v1/experiments", OPERATOR,
                               pause_yaml(XSS, long_pid, web_port, "1s"), "application/yaml")
        assert 400 <= st < 500, f"an experiment named {XSS} was accepted: {st}"
        envelope = {
            "experiment": pause_yaml("console-xss", long_pid, web_port, "120s"),
            "gitlab": {"event": "ci", "projectId": 1, "projectPath": "group/<b>proj</b>",
                       "projectUrl": "javascript:alert(2)", "sha": "0123456789abcdef0123456789abcdef01234567",
                       "gitRef": XSS, "pipelineId": 7, "mrIid": 3},
        }
        st, created = server.call("POST", "/api/v1/runs", OPERATOR, envelope)
        assert st == 201, (st, created)
        run = created["id"]
        c.wait(lambda d: proc_state(long_pid) == "T", timeout=30, what="the pause")
        server.call("POST", f"/api/v1/runs/{run}/abort", OPERATOR, {"reason": XSS + "<script>alert(3)</script>"})
        server.wait_terminal(run)
        assert proc_state(long_pid) != "T", "the pause outlived its run"
        c.sign_in(OPERATOR)
        c.no_script_ran()
        row = driver.find_element(By.CSS_SELECTOR, f"tr[data-run='{run}']")
        assert XSS in row.text and "<b>proj</b>" in row.text, row.text
        links = [a.get_attribute("href") for a in row.find_elements(By.TAG_NAME, "a")]
        assert not any(h and h.startswith("javascript:") for h in links), links
        c.open(f"/runs/{run}")
        c.wait(lambda d: c.text("#run-state") == "aborted", what="the aborted run")
        c.no_script_ran()
        assert "<script>alert(3)</script>" in c.text("#run-reason")
        assert XSS in c.text("#trigger")
        assert driver.execute_script("return window.__xss === undefined")

    def an_unknown_run_shows_a_readable_error():
        c.open("/runs/no-such-run")
        c.wait(lambda d: c.visible("#error"), what="the error line")
        assert "no-such-run" in c.text("#error"), c.text("#error")

    def the_runs_page_filters_and_shows_the_trend():
        c.open("/?experiment=console-pass")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr[data-run]")
        assert rows and all("console-pass" in r.text for r in rows), [r.text for r in rows]
        assert driver.find_elements(By.CSS_SELECTOR, ".trend .cell.b-passed"), "no trend cell"
        c.open("/?state=aborted")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr[data-run]")
        assert rows and all("aborted" in r.text for r in rows)

    def schedules_and_agents_pages_load():
        c.open("/schedules")
        assert "no experiment in the catalog has a schedule" in c.text("#schedules tbody")
        c.open("/agents")
        assert "healthy" in c.text("#agents tbody") and "in-process" in c.text("#agents tbody")

    def validate_shows_line_and_fix():
        c.sign_in(OPERATOR)
        c.open("/experiments/console-pass")
        yaml = driver.find_element(By.ID, "yaml")
        yaml.clear()
        yaml.send_keys("apiVersion: faultline.dev/v1alpha1\nkind: Experiment\nmetadata: { name: x }\nspec:\n  steps:\n    - name: a\n      processPaus: {}\n")
        driver.find_element(By.ID, "validate").click()
        c.wait(lambda d: "Not valid" in c.text("#verdict"), what="the validation errors")
        assert "line " in c.text("#verdict"), c.text("#verdict")
        assert "experiments/console-pass.yaml" in c.text("#ci")

    try:
        for t in [sign_in_shows_who_and_role, a_bad_token_gets_a_readable_message,
                  start_from_catalog_and_watch_it_live, abort_a_second_run_with_a_reason,
                  trip_and_release_the_emergency_stop, a_viewer_sees_no_start_or_abort_and_the_api_refuses_them,
                  markup_in_names_reasons_and_refs_is_shown_as_text, an_unknown_run_shows_a_readable_error,
                  the_runs_page_filters_and_shows_the_trend, schedules_and_agents_pages_load,
                  validate_shows_line_and_fix]:
            test(t)
    finally:
        driver.quit()
        server.close()
        for p in sleepers:
            p.kill()
        web.shutdown()
    print(f"browser: {counts['PASS']} passed, {counts['FAIL']} failed", flush=True)
    return counts["FAIL"] == 0


if __name__ == "__main__":
    main(run_tests, "also save the runs page (and -run.png, the run view) here")

#!/usr/bin/env python3
"""Signing in to the web console through a REAL OpenID provider (issue 28): PyPI
`oidc-provider-mock` (authlib's OIDC server) on loopback, `faultline serve --sso-config`
with no tokens file at all, and Debian's chromium over WebDriver clicking through it:
"Sign in with SSO" -> the provider's form -> back on the console as the role the
person's `groups` claim maps to; Start shown to an operator, not to a viewer; a person
in no mapped group gets a page saying why; sign-out goes through the provider's
end-session page and the session is gone on the server.

Prints one `BROWSER-RESULT sso_<name> PASS|FAIL|SKIP [why]` line per test.

    tests/browser/sso_test.py [--binary target/debug/faultline]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_test import browser, free_port, pause_yaml  # noqa: E402
from harness import Runner, ServeProcess, default_binary, result, shots_dir  # noqa: E402

from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER = os.path.join(HERE, "..", "..", "test-support", "src", "peers", "oidc_provider.py")
USERS = {
    "alice": {"preferred_username": "alice", "email": "alice@example.org", "groups": ["platform/sre"]},
    "bob": {"preferred_username": "bob", "groups": ["platform/web"]},
    "mallory": {"preferred_username": "mallory", "groups": ["sales"]},
}


class Provider:
    """oidc-provider-mock on 127.0.0.1, its users' claims set through its API."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, PROVIDER], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready "):
            raise RuntimeError(f"the OIDC provider did not start: {line!r}")
        self.issuer = f"http://127.0.0.1:{line.split()[1]}"
        for sub, claims in USERS.items():
            req = urllib.request.Request(f"{self.issuer}/users/{sub}", data=json.dumps(claims).encode(),
                                         method="PUT", headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 204, r.status

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class SsoServer(ServeProcess):
    """`faultline serve` with only SSO for people: no tokens file."""

    def __init__(self, binary, issuer):
        self.dir = tempfile.mkdtemp(prefix="faultline-sso-")
        with open(os.path.join(self.dir, "secret"), "w") as f:
            f.write("console-secret-0123456789\n")
        with open(os.path.join(self.dir, "sso.yaml"), "w") as f:
            f.write(f"issuer: {issuer}\nclientId: faultline-console\nclientSecretFile: secret\n"
                    "roles:\n  claim: groups\n  viewer: [\"platform/*\"]\n  operator: [platform/sre]\n")
        exps = os.path.join(self.dir, "experiments")
        os.makedirs(exps)
        with open(os.path.join(exps, "sso-pause.yaml"), "w") as f:
            # Never started here: the catalog only needs an experiment to offer Start for.
            f.write(pause_yaml("sso-pause", os.getpid(), 9, "1s"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.start([binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--state-dir", os.path.join(self.dir, "state"),
                    "--sso-config", os.path.join(self.dir, "sso.yaml"), "--experiments", exps])


def run_tests(binary, shots):
    provider = Provider()
    server = SsoServer(binary, provider.issuer)
    driver = browser()

    def wait(cond, what, timeout=20):
        try:
            return WebDriverWait(driver, timeout, poll_frequency=0.1).until(cond)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}") from None

    def text(css):
        return driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : ''", css)

    def page():
        return driver.execute_script("return document.body && document.body.dataset.page")

    def sso_sign_in(sub):
        """From the console's sign-in page through the provider's form, as `sub`."""
        driver.delete_all_cookies()
        driver.get(server.base + "/signin")
        wait(lambda d: d.find_element(By.ID, "sso").is_displayed(), "the Sign in with SSO button")
        driver.find_element(By.ID, "sso").click()
        wait(lambda d: d.current_url.startswith(provider.issuer + "/oauth2/authorize"), "the provider's form")
        driver.find_element(By.NAME, "sub").send_keys(sub)
        driver.find_element(By.XPATH, "//button[normalize-space()='Authorize']").click()
        wait(lambda d: d.current_url.startswith(server.base), "the way back to the console")

    def who_after_sign_in():
        wait(lambda d: page() == "runs" and d.execute_script("return document.body.dataset.ready"),
             "the runs page after the sign-in")
        return text("#who")

    def session_cookie():
        return next((c for c in driver.get_cookies() if c["name"] == "faultline_session"), None)

    test = Runner(driver, shots, prefix="sso_")
    counts = test.counts

    def an_operator_signs_in_through_the_provider_and_sees_start():
        sso_sign_in("alice")
        assert who_after_sign_in() == "alice · operator", text("#who")
        # Chromium keeps the Secure cookie on http://127.0.0.1 (a secure context), and the
        # page's script cannot read it.
        c = session_cookie()
        assert c and c["httpOnly"] and c["secure"] and c.get("sameSite") == "Strict", c
        assert driver.execute_script("return document.cookie.includes('faultline_session')") is False
        driver.get(server.base + "/experiments")
        wait(lambda d: d.execute_script("return document.body.dataset.ready"), "the experiments page")
        starts = driver.find_elements(By.CSS_SELECTOR, "tr[data-experiment='sso-pause'] button.start")
        assert starts and starts[0].is_displayed(), "Start hidden from an operator"
        assert driver.find_element(By.ID, "signout").is_displayed(), "no Sign out"

    def the_signed_in_browser_skips_the_sign_in_page():
        driver.get(server.base + "/signin")
        wait(lambda d: page() == "runs", "the console instead of the sign-in page")

    def sign_out_goes_through_the_provider_and_ends_the_session():
        driver.find_element(By.ID, "signout").click()
        wait(lambda d: d.current_url.startswith(provider.issuer + "/oauth2/end_session"), "the provider's sign-out")
        assert "id_token_hint" in driver.current_url
        assert session_cookie() is None, "the cookie outlived the sign-out"
        driver.find_element(By.XPATH, "//button[normalize-space()='End session']").click()
        wait(lambda d: d.current_url == server.base + "/signin", "the console's sign-in page")
        driver.get(server.base + "/")
        wait(lambda d: page() == "signin", "the sign-in page for a signed-out browser")

    def a_viewer_sees_no_start():
        sso_sign_in("bob")
        assert who_after_sign_in() == "bob · viewer", text("#who")
        driver.get(server.base + "/experiments")
        wait(lambda d: d.execute_script("return document.body.dataset.ready"), "the experiments page")
        starts = driver.find_elements(By.CSS_SELECTOR, "button.start")
        assert starts and not any(b.is_displayed() for b in starts), "Start shown to a viewer"
        assert not driver.find_element(By.ID, "stopall-bar").is_displayed(), "Stop all shown to a viewer"

    def a_person_in_no_mapped_group_is_told_why():
        sso_sign_in("mallory")
        wait(lambda d: page() == "signin-refused", "the refusal page")
        why = text("#refusal")
        assert "mallory" in why and "`groups`" in why and "sales" in why, why
        assert session_cookie() is None, "a refused person got a session"

    try:
        for t in [an_operator_signs_in_through_the_provider_and_sees_start,
                  the_signed_in_browser_skips_the_sign_in_page,
                  sign_out_goes_through_the_provider_and_ends_the_session,
                  a_viewer_sees_no_start, a_person_in_no_mapped_group_is_told_why]:
            test(t)
    finally:
        driver.quit()
        server.close()
        provider.close()
    print(f"browser sso: {counts['PASS']} passed, {counts['FAIL']} failed", flush=True)
    return counts["FAIL"] == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=default_binary())
    a = ap.parse_args()
    try:
        import oidc_provider_mock  # noqa: F401
    except ImportError:
        result("sso", "SKIP", "python oidc_provider_mock is not installed (pip install oidc-provider-mock)")
        return
    if not os.access(a.binary, os.X_OK):
        result("sso", "SKIP", f"{a.binary} is not built (cargo build -p faultline)")
        return
    shots = shots_dir()
    sys.exit(0 if run_tests(a.binary, shots) else 1)


if __name__ == "__main__":
    main()

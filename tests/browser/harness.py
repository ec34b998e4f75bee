"""What the browser tests (console_test.py, sso_test.py, governance_test.py) share: the
`BROWSER-RESULT` lines, starting and stopping `faultline serve`, running each test with a screenshot and the page's HTML kept on
failure, and where the binary and those files are by default."""

import argparse
import os
import shutil
import subprocess
import sys
import time
import traceback
import urllib.request


def result(name, status, why=""):
    print(f"BROWSER-RESULT {name} {status}{(' ' + why) if why else ''}", flush=True)


def skip_all(why):
    result("all", "SKIP", why)
    sys.exit(0)


def target_dir(*parts):
    return os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), *parts)


def default_binary():
    return target_dir("debug", "faultline")


def shots_dir():
    return target_dir("test-logs", "browser")


class Runner:
    """Calling it with a test function runs it and prints its result line (its name after
    `prefix`); every failure is reported, with a screenshot and the page's HTML in `shots`,
    and the next test runs. `counts` holds how many passed and failed."""

    def __init__(self, driver, shots, prefix=""):
        self.driver, self.shots, self.prefix = driver, shots, prefix
        self.counts = {"PASS": 0, "FAIL": 0}

    def __call__(self, fn):
        name = self.prefix + fn.__name__
        try:
            fn()
            result(name, "PASS")
            self.counts["PASS"] += 1
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next test runs
            self.counts["FAIL"] += 1
            os.makedirs(self.shots, exist_ok=True)
            try:
                self.driver.save_screenshot(os.path.join(self.shots, name + ".png"))
                with open(os.path.join(self.shots, name + ".html"), "w") as f:
                    f.write(self.driver.page_source)
            except Exception:  # noqa: BLE001
                pass
            traceback.print_exc()
            result(name, "FAIL", str(e).splitlines()[0] if str(e) else type(e).__name__)


class ServeProcess:
    """`faultline serve` in the temp dir `self.dir`, its output in `serve.log` there; the
    subclass sets `dir` and `base` and calls `start`. `close` stops it and removes the dir."""

    def start(self, args):
        """Runs `args` and waits (up to 30 s) until `base` answers /healthz."""
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise RuntimeError("faultline serve did not start: " + open(self.log.name).read())

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def main(run_tests, screenshot_help):
    """The command line of console_test.py and governance_test.py: `--binary`, `--screenshot`
    (`screenshot_help`); every test skipped without chromium, chromedriver or the binary;
    exits 1 when `run_tests(binary, shots, screenshot)` says a test failed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=default_binary())
    ap.add_argument("--screenshot", help=screenshot_help)
    a = ap.parse_args()
    for tool in ["chromium", "chromedriver"]:
        if not shutil.which(tool):
            skip_all(f"{tool} is not installed (apt-get install chromium chromium-driver)")
    if not os.access(a.binary, os.X_OK):
        skip_all(f"{a.binary} is not built (cargo build -p faultline)")
    sys.exit(0 if run_tests(a.binary, shots_dir(), a.screenshot) else 1)

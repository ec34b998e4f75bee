#!/usr/bin/env python3
"""P12's live-view half: follow one run's live view in headless chromium and print, as
JSON, when the page was ready and when each event's row was first drawn (epoch ms, from a
MutationObserver on the events table). Called by service/benches/live_lag.rs, which
computes each event's lag from its stored time; exits non-zero with the reason on stderr
when chromium, chromium-driver or selenium are missing.

    bench/live_lag.py BASE TOKEN RUN_ID TIMEOUT_SECONDS
"""

import json
import shutil
import sys
import time

base, token, run, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    sys.exit("python selenium is not installed")
if not shutil.which("chromium") or not shutil.which("chromedriver"):
    sys.exit("chromium or chromedriver is not installed")

OBSERVE = """
window.__seen = {};
const note = () => {
  const now = Date.now();
  for (const tr of document.querySelectorAll('#events tr[data-seq]')) {
    if (!(tr.dataset.seq in window.__seen)) window.__seen[tr.dataset.seq] = now;
  }
};
note();
new MutationObserver(note).observe(document.getElementById('events'), { childList: true, subtree: true });
return Date.now();
"""

opts = webdriver.ChromeOptions()
opts.binary_location = shutil.which("chromium")
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
try:
    driver.get(base + "/signin")
    driver.execute_script("sessionStorage.setItem('faultline.token', arguments[0])", token)
    driver.get(base + "/runs/" + run)
    WebDriverWait(driver, 30, poll_frequency=0.02).until(lambda d: d.execute_script("return document.body.dataset.ready"))
    ready = driver.execute_script(OBSERVE)
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = driver.execute_script("return document.getElementById('run-state').textContent")
        if state in ("passed", "failed", "aborted", "error"):
            break
        time.sleep(0.5)
    time.sleep(1)  # the last redraw
    print(json.dumps({"ready": ready, "seen": driver.execute_script("return window.__seen")}))
finally:
    driver.quit()

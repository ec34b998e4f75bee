#!/usr/bin/env python3
"""P12's rendering half: load the console's runs page N times in headless chromium and print
a JSON list of the milliseconds from navigation start to the script's `faultline-ready`
mark (the runs drawn). Called by service/benches/console_load.rs with the server's base URL
and a viewer token; exits non-zero with the reason on stderr when chromium,
chromium-driver or selenium are missing.

    bench/console_render.py BASE TOKEN N
"""

import json
import shutil
import sys

base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    sys.exit("python selenium is not installed")
if not shutil.which("chromium") or not shutil.which("chromedriver"):
    sys.exit("chromium or chromedriver is not installed")

opts = webdriver.ChromeOptions()
opts.binary_location = shutil.which("chromium")
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"]:
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
try:
    driver.get(base + "/signin")
    driver.execute_script("sessionStorage.setItem('faultline.token', arguments[0])", token)
    times = []
    for i in range(n + 1):
        driver.get(base + "/")
        WebDriverWait(driver, 30, poll_frequency=0.02).until(
            lambda d: d.execute_script("return document.body.dataset.ready"))
        ms = driver.execute_script(
            "const m = performance.getEntriesByName('faultline-ready'); return m.length ? m[0].startTime : null")
        rows = driver.execute_script("return document.querySelectorAll('#runs tbody tr[data-run]').length")
        if ms is None or rows != 50:
            sys.exit(f"the page did not draw 50 runs (drew {rows})")
        if i:  # the first load warms chromium's caches
            times.append(ms)
    print(json.dumps(times))
finally:
    driver.quit()

"""Drives the admin port's dashboard in headless Chromium (Debian `chromium` and
`chromium-driver`, Python `selenium`): `dashboard.py ADMIN_PORT PROXY_PORT HOST FLAKY_ADDRESS
SCREENSHOT`. Loads the page, waits until it lists both endpoints, sends requests through the
proxy until the flaky endpoint's breaker trips, waits for the page to show that endpoint
pending and the transition, waits for the route's rate to show, saves a screenshot, and prints
a JSON report. Every wait is bounded. Chromium's profile and singleton socket go in a folder of
their own, removed at the end."""
import json
import os
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

admin, proxy, host, flaky, screenshot = sys.argv[1:6]
scratch = tempfile.TemporaryDirectory(prefix="switchyard-chromium-", ignore_cleanup_errors=True)
os.environ["TMPDIR"] = scratch.name  # chromedriver and Chromium inherit it
options = Options()
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
report = {"ok": False}
try:
    driver.set_page_load_timeout(30)
    driver.get(f"http://127.0.0.1:{admin}/")
    wait = WebDriverWait(driver, 20, poll_frequency=0.1)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.endpoint")) == 2)
    report["endpoints"] = sorted(
        f'{row.get_attribute("data-address")} {row.get_attribute("data-state")}' for row in driver.find_elements(By.CSS_SELECTOR, "tr.endpoint"))
    for _ in range(10):
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{proxy}/", headers={"Host": host}), timeout=5).read()
        except Exception:
            pass
    tripped = time.monotonic()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f'tr.endpoint[data-address="{flaky}"][data-state="pending"]'))
    report["pendingAfter"] = time.monotonic() - tripped
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr.event"))
    report["events"] = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "tr.event")]
    # Traffic on for two polls, so the rate, success and latency columns show numbers.
    def busy(d):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{proxy}/", headers={"Host": host}), timeout=5).read()
        cells = d.find_elements(By.CSS_SELECTOR, "tr.route-backend td.num")
        return cells and cells[0].text not in ("–", "0.0")
    wait.until(busy)
    report["route"] = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "tr.route-backend td")]
    driver.save_screenshot(screenshot)
    report["ok"] = True
finally:
    driver.quit()
    scratch.cleanup()
print(json.dumps(report))

"""The web console in a real headless Chromium (Debian's chromium and chromium-driver).

Run by Tests/NodeTests/ConsoleBrowserTests.swift against one node. Exits 0 when every check
holds; prints what failed otherwise.

    python console_e2e.py --url http://127.0.0.1:PORT --token ADMIN_TOKEN [--screenshots DIR]
"""
import argparse
import json
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, flush=True)
    return condition


def api(url, token, method, path, body=None):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else None, method=method,
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read().decode() or "null")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def loaded(driver, act):
    """Runs `act`, which loads another page, and waits until that page has loaded: a mark
    left on the old page's window is gone once the new document is complete."""
    driver.execute_script("window.__weirOldPage = true")
    act()
    WebDriverWait(driver, 10, ignored_exceptions=[WebDriverException]).until(
        lambda d: d.execute_script("return window.__weirOldPage === undefined && document.readyState === 'complete'"))


def navigate(driver, element):
    """Clicks `element`, which loads another page, and waits until that page has loaded."""
    loaded(driver, element.click)


def sign_in(driver, url, token):
    driver.get(url + "/admin/signin")
    driver.find_element(By.NAME, "token").send_keys(token)
    navigate(driver, driver.find_element(By.ID, "signin"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    url, token = args.url, args.token

    # 120 users, one with a script in its display name.
    for n in range(119):
        api(url, token, "POST", "/admin/api/users", {"id": f"user:u{n:03d}", "email": f"u{n:03d}@example.com"})
    hostile = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"
    api(url, token, "POST", "/admin/api/users", {"id": "user:zz-hostile", "display_name": hostile})
    reader = api(url, token, "POST", "/admin/api/tokens", {"principal": "human:admin", "scopes": ["admin.read"], "name": "reader"})["secret"]
    invoker = api(url, token, "POST", "/admin/api/tokens", {"principal": "human:admin", "name": "invoker"})["secret"]

    driver = browser()
    try:
        # Not signed in: every page sends the browser to sign in.
        driver.get(url + "/admin/users")
        check(driver.current_url.endswith("/admin/signin"), f"unsigned /admin/users went to {driver.current_url}")

        # A token without an admin scope is refused.
        sign_in(driver, url, invoker)
        check("Sign-in refused" in driver.page_source and driver.current_url.endswith("/admin/signin"), "a model.invoke token signed in")

        sign_in(driver, url, token)
        title = driver.title
        check(title.startswith("Dashboard"), f"after sign-in the title is {title!r}")
        check(driver.find_elements(By.CSS_SELECTOR, "svg[aria-label='cost per day']") != [], "the 7-day cost chart is drawn")
        cookie = driver.get_cookie("weir_session")
        check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", f"session cookie {cookie}")

        # Issue a token: its secret is shown once, then never again.
        driver.get(url + "/admin/keys")
        driver.find_element(By.NAME, "principal").send_keys("human:admin")
        driver.find_element(By.NAME, "name").send_keys("from the console")
        navigate(driver, driver.find_element(By.ID, "issue"))
        secret = driver.find_element(By.ID, "secret").text
        token_id = driver.find_element(By.ID, "token-id").text
        check(secret.startswith("weir_") and len(secret) > 40, f"the revealed secret {secret!r}")
        driver.get(url + "/admin/keys")
        check(secret not in driver.page_source and token_id in driver.page_source, "the secret shows again on the keys page")
        # Revoke it from the table.
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#tokens tr") if token_id in r.text][0]
        navigate(driver, row.find_element(By.TAG_NAME, "button"))
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#tokens tr") if token_id in r.text][0]
        check("revoked" in row.text, f"after revoke the row reads {row.text!r}")

        # Page through 120 users, 50 a page.
        driver.get(url + "/admin/users")
        seen, pages = [], 0
        while True:
            pages += 1
            seen += [r.find_elements(By.TAG_NAME, "td")[1].text for r in driver.find_elements(By.CSS_SELECTOR, "#users tr")[1:]]
            links = driver.find_elements(By.ID, "next")
            if not links or pages > 5:
                break
            navigate(driver, links[0])
        check(pages == 3 and len(seen) == 120 and len(set(seen)) == 120, f"{len(seen)} users over {pages} pages")

        # A script in a display name renders as text.
        driver.get(url + "/admin/users?cursor=")
        while driver.find_elements(By.ID, "next") and "user:zz-hostile" not in driver.page_source:
            navigate(driver, driver.find_element(By.ID, "next"))
        check(hostile in driver.find_element(By.ID, "users").text, "the hostile display name is shown as text")
        check(driver.title != "owned" and not driver.find_elements(By.CSS_SELECTOR, "#users img"), "the hostile display name ran")

        # A filter narrows the table.
        driver.get(url + "/admin/users?status=disabled")
        check("No users match." in driver.page_source, "the status filter")

        # History, gateway logs and the cluster, each a table over its endpoint.
        driver.get(url + "/admin/history?action=user")
        history = driver.find_element(By.ID, "history").text
        check("user:zz-hostile" in history and "token.issue" not in history, "the history filter by action")
        driver.get(url + "/admin/logs")
        check(driver.find_elements(By.ID, "logs") != [], "the gateway logs table")
        driver.get(url + "/admin/cluster")
        cluster = driver.find_element(By.ID, "cluster").text
        check("n1" in cluster and "leader" in cluster and "ready" in cluster, f"the cluster table: {cluster!r}")
        check(len(driver.find_elements(By.CSS_SELECTOR, "#cluster button")) == 1, "a super-admin sees the drain button")

        # A form without the session's CSRF token is refused.
        loaded(driver, lambda: driver.execute_script(
            "var f=document.createElement('form');f.method='post';f.action='/admin/users';"
            "var i=document.createElement('input');i.name='id';i.value='user:csrf';f.appendChild(i);document.body.appendChild(f);f.submit();"))
        check("security token did not match" in driver.page_source, "a form without the CSRF token was accepted")

        # A read-only token sees no write controls.
        driver.delete_all_cookies()
        sign_in(driver, url, reader)
        driver.get(url + "/admin/keys")
        check(not driver.find_elements(By.ID, "issue") and "(read-only)" in driver.page_source, "a read-only token sees the issue form")
        driver.get(url + "/admin/users")
        check(not driver.find_elements(By.ID, "create-user"), "a read-only token sees the create form")
        driver.get(url + "/admin/cluster")
        check(not driver.find_elements(By.CSS_SELECTOR, "#cluster button"), "a read-only token sees the drain button")

        if args.screenshots:
            driver.delete_all_cookies()
            sign_in(driver, url, token)
            for name, path in (("dashboard", "/admin/"), ("keys", "/admin/keys"), ("users", "/admin/users"), ("logs", "/admin/logs"),
                               ("history", "/admin/history"), ("cluster", "/admin/cluster")):
                driver.get(url + path)
                driver.save_screenshot(f"{args.screenshots}/{name}.png")
    finally:
        driver.quit()

    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    print("all console checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The web console in a real headless Chromium (Debian's chromium and chromium-driver).

Run by Tests/NodeTests/ConsoleBrowserTests.swift against one node. Exits 0 when every check
holds; prints what failed otherwise.

    python console_e2e.py --url http://127.0.0.1:PORT --token ADMIN_TOKEN [--screenshots DIR]
"""
import argparse
import json
import sys
import threading
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support import expected_conditions
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


def confirmed(driver, button, accept=True):
    """Clicks a row's button, which asks first, and answers; when accepted, waits for the
    page the form loads."""
    def act():
        button.click()
        alert = WebDriverWait(driver, 5).until(expected_conditions.alert_is_present())
        alert.accept() if accept else alert.dismiss()
    if accept:
        loaded(driver, act)
    else:
        act()


def navigate(driver, element):
    """Clicks `element`, which loads another page, and waits until that page has loaded."""
    loaded(driver, element.click)


def table_rows(driver, table_id):
    """The text of each data row of a table."""
    return [r.text for r in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tr")[1:]]


def fill(driver, form_id, values):
    """Opens the collapsed form `form_id`, types `values` (a select by its option's value)
    and submits it, waiting for the page it loads."""
    form = driver.find_element(By.ID, "form-" + form_id)
    if form.get_attribute("open") is None:
        form.find_element(By.TAG_NAME, "summary").click()
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        if field.tag_name == "select":
            field.find_element(By.CSS_SELECTOR, f"option[value='{value}']").click()
        else:
            field.clear()
            field.send_keys(value)
    navigate(driver, driver.find_element(By.ID, "submit-" + form_id))


def page_errors(driver):
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".error")]


def fetch_status(driver, path):
    """The status of a GET the page's own session cookie makes (the JSON, YAML and CSV links)."""
    return driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.text().then(t => done([r.status, t.slice(0, 4000)]))).catch(e => done([0, String(e)]));", path)


def sign_in(driver, url, token):
    driver.get(url + "/admin/signin")
    driver.find_element(By.NAME, "token").send_keys(token)
    navigate(driver, driver.find_element(By.ID, "signin"))


SCREENS = (("dashboard", "/admin/"), ("keys", "/admin/keys"), ("policy", "/admin/policy"), ("usage", "/admin/usage"),
           ("monitor", "/admin/monitor"), ("history", "/admin/history"), ("users", "/admin/users"), ("orgs", "/admin/orgs"),
           ("apps", "/admin/apps"), ("router", "/admin/router"), ("profiles", "/admin/profiles"), ("models", "/admin/models"),
           ("logs", "/admin/logs"), ("dlp", "/admin/dlp"), ("settings", "/admin/settings"), ("errors", "/admin/errors"),
           ("cluster", "/admin/cluster"))


def policy_ops(driver, url):
    """Quota upsert and revoke through the forms; both revisions found with the filters."""
    driver.get(url + "/admin/policy")
    fill(driver, "user-register", {"id": "user:quota-e2e", "display_name": "Quota E2E"})
    check("Register User: done." in driver.page_source, "registering a user from Policy Ops")
    # Bad input: a clear error, and what was typed is still there.
    fill(driver, "quota-upsert", {"lane": "user", "subject": "user:quota-e2e", "name": "hour", "period": "hour", "max_usd": "lots",
                                  "max_requests": "100"})
    check("Max USD: lots is not a number." in " ".join(page_errors(driver)), f"a bad cap: {page_errors(driver)}")
    form = driver.find_element(By.ID, "form-quota-upsert")
    check(form.find_element(By.NAME, "subject").get_attribute("value") == "user:quota-e2e", "the typed values were lost after an error")
    fill(driver, "quota-upsert", {"max_usd": "2.5"})
    check("Quota Upsert (Append-Only Revision): done." in driver.page_source, f"the quota upsert: {page_errors(driver)}")
    fill(driver, "quota-revoke", {"lane": "user", "subject": "user:quota-e2e", "name": "hour", "reason": "e2e revoke"})
    check("Quota Revoke (Append-Only): done." in driver.page_source, f"the quota revoke: {page_errors(driver)}")
    # Both revisions, found with the filters: subject and lane, then each status. The
    # users table keeps its own filter meanwhile.
    driver.get(url + "/admin/policy?users.q=quota-e2e")
    section = driver.find_element(By.ID, "quotas-section")
    section.find_element(By.NAME, "quotas.subject").send_keys("user:quota-e2e")
    section.find_element(By.CSS_SELECTOR, "select[name='quotas.lane'] option[value='user']").click()
    navigate(driver, section.find_element(By.TAG_NAME, "button"))
    rows = table_rows(driver, "quotas")
    check(len(rows) == 2 and "revoked" in rows[0] and "superseded" in rows[1] and "100" in rows[1], f"the filtered quota revisions: {rows}")
    section = driver.find_element(By.ID, "quotas-section")
    section.find_element(By.CSS_SELECTOR, "select[name='quotas.status'] option[value='revoked']").click()
    navigate(driver, section.find_element(By.TAG_NAME, "button"))
    rows = table_rows(driver, "quotas")
    check(len(rows) == 1 and "revoked" in rows[0], f"the revoked quota revision: {rows}")
    users = table_rows(driver, "users")
    check(len(users) == 1 and "user:quota-e2e" in users[0], f"filtering the quotas lost the users filter: {table_rows(driver, 'users')}")
    # A filter with a space in it (the browser sends it as +).
    section = driver.find_element(By.ID, "users-section")
    section.find_element(By.NAME, "users.q").clear()
    section.find_element(By.NAME, "users.q").send_keys("Quota E2E")
    navigate(driver, section.find_element(By.TAG_NAME, "button"))
    users = table_rows(driver, "users")
    check(len(users) == 1 and "user:quota-e2e" in users[0], f"the users filter 'Quota E2E': {users}")
    # A user's row links to its quota revisions; each table takes its own page size.
    driver.get(url + "/admin/policy?users.q=quota-e2e")
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#users tr") if "user:quota-e2e" in r.text][0]
    navigate(driver, row.find_element(By.LINK_TEXT, "Quotas"))
    check(len(table_rows(driver, "quotas")) == 2, f"the user's quota shortcut: {table_rows(driver, 'quotas')}")
    driver.get(url + "/admin/policy?users.limit=5")
    check(len(table_rows(driver, "users")) == 5 and len(table_rows(driver, "quotas")) >= 2, "the users table's page size")
    # A table whose call fails says why in its own place; the page's other tables still show.
    driver.get(url + "/admin/policy?quotas.lane=bogus")
    quotas = driver.find_element(By.ID, "quotas").text
    check("Could not load: lane" in quotas and "bogus" in quotas and len(table_rows(driver, "users")) > 0, f"the quotas table's error state: {quotas!r}")
    # Pricing: upsert, then revoke from the row's button.
    driver.get(url + "/admin/policy")
    fill(driver, "pricing-upsert", {"scope": "model", "subject": "gpt-e2e", "per_1k": "0.002", "note": "e2e"})
    driver.get(url + "/admin/policy?pricing.subject=gpt-e2e")
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#pricing tr") if "gpt-e2e" in r.text][0]
    confirmed(driver, row.find_element(By.TAG_NAME, "button"))
    driver.get(url + "/admin/policy?pricing.subject=gpt-e2e&pricing.status=revoked")
    check(len(table_rows(driver, "pricing")) == 1, f"the pricing revocation: {table_rows(driver, 'pricing')}")
    # The issue form reveals the secret once.
    driver.get(url + "/admin/policy")
    fill(driver, "token-issue", {"principal": "human:admin", "name": "from policy ops"})
    check(driver.find_element(By.ID, "secret").text.startswith("weir_"), "the token issued from Policy Ops is revealed")


def every_screen(driver, url):
    """Each screen loads without an error, with its tables; the forms of a few do their job."""
    # Traffic for the usage screens: alice's four answered requests (mockllm answers the demo
    # models) and three for a model that does not exist.
    api(url, TOKEN[0], "POST", "/admin/api/users", {"id": "user:alice", "display_name": "Alice", "email": "alice@example.com"})
    alice = api(url, TOKEN[0], "POST", "/admin/api/tokens", {"principal": "human:admin", "user": "user:alice", "name": "alice's laptop"})["secret"]
    for model in ["gpt-4o-mini"] * 4 + ["no-such-model"] * 3:
        request = urllib.request.Request(url + "/v1/chat/completions", method="POST", data=json.dumps(
            {"model": model, "messages": [{"role": "user", "content": "hello there"}]}).encode(),
            headers={"Authorization": "Bearer " + alice, "Content-Type": "application/json", "User-Agent": "e2e-agent/1.2"})
        try:
            urllib.request.urlopen(request, timeout=30).read()
        except urllib.error.HTTPError:
            pass
    tables = {"/admin/": ["providers", "spenders"], "/admin/policy": ["users", "apps", "principals", "quotas", "pricing"], "/admin/usage": ["usage-users"],
              "/admin/monitor": ["recent", "recent-errors"], "/admin/orgs": ["orgs"], "/admin/apps": ["apps"], "/admin/router": ["aliases"],
              "/admin/profiles": ["profiles"], "/admin/models": ["models", "deployments"], "/admin/dlp": ["protection", "rules", "activity"],
              "/admin/settings": ["credentials", "fallbacks"], "/admin/errors": ["errors"]}
    for path, ids in tables.items():
        driver.get(url + path)
        check(not page_errors(driver), f"{path} shows errors: {page_errors(driver)}")
        for table in ids:
            check(driver.find_elements(By.ID, table) != [], f"{path} has no table {table}")
    driver.get(url + "/admin/errors")
    errors = table_rows(driver, "errors")
    check(len(errors) == 3 and "e2e-agent" in errors[0] and "1.2" in errors[0], f"the error reports: {errors}")
    driver.get(url + "/admin/monitor")
    check(driver.find_elements(By.CSS_SELECTOR, "svg[aria-label='requests per minute']") != [], "the per-minute chart")
    refresh = driver.find_elements(By.CSS_SELECTOR, "meta[http-equiv=refresh]")
    check(len(refresh) == 1 and refresh[0].get_attribute("content") == "15", "the monitor reloads itself")
    check(len(table_rows(driver, "recent")) == 7, f"the monitor's recent requests: {table_rows(driver, 'recent')}")
    driver.get(url + "/admin/")
    check(any("user:alice" in r for r in table_rows(driver, "spenders")), f"the top spenders: {table_rows(driver, 'spenders')}")
    driver.find_element(By.CSS_SELECTOR, "select[name=period] option[value='7d']").click()
    navigate(driver, driver.find_element(By.ID, "period"))
    cards = driver.find_element(By.TAG_NAME, "main").text
    check(driver.current_url.endswith("period=7d") and "Total Requests\n7" in cards and not page_errors(driver), f"the dashboard over 7 days: {cards[:300]!r}")
    driver.get(url + "/admin/usage")
    rows = [r for r in table_rows(driver, "usage-users") if "user:alice" in r]
    cells = rows[0].split() if len(rows) == 1 else []
    # user, name, email, 7 requests, tokens in and out, a cost, 3 errors, the CSV link
    check(len(cells) == 9 and cells[3] == "7" and cells[6].startswith("$") and float(cells[6][1:]) > 0 and cells[7] == "3" and cells[8] == "CSV",
          f"alice's usage: {rows}")

    # Organizations: create, edit through the prefilled form, delete.
    driver.get(url + "/admin/orgs")
    fill(driver, "org", {"id": "org:e2e", "name": "E2E Org"})
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#orgs tr") if "org:e2e" in r.text][0]
    navigate(driver, row.find_element(By.LINK_TEXT, "Edit"))
    form = driver.find_element(By.ID, "form-org")
    check(form.find_element(By.NAME, "name").get_attribute("value") == "E2E Org", "the edit form is filled with the record")
    fill(driver, "org", {"name": "E2E Renamed", "dlp": "dlp:nope"})
    check("no such record" in " ".join(page_errors(driver)), f"an unknown DLP policy: {page_errors(driver)}")
    fill(driver, "org", {"dlp": ""})
    check(any("E2E Renamed" in r for r in table_rows(driver, "orgs")), f"the renamed org: {table_rows(driver, 'orgs')}")
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#orgs tr") if "org:e2e" in r.text][0]
    confirmed(driver, row.find_element(By.TAG_NAME, "button"), accept=False)
    check(any("org:e2e" in r for r in table_rows(driver, "orgs")), "the org was deleted though the question was declined")
    confirmed(driver, row.find_element(By.TAG_NAME, "button"))
    check(not any("org:e2e" in r for r in table_rows(driver, "orgs")), "the org was not deleted")

    # Model router: an alias added and deleted.
    driver.get(url + "/admin/router")
    fill(driver, "alias", {"requested_model": "fast", "routed_to": "gpt-4o-mini"})
    check(any("fast" in r and "gpt-4o-mini" in r for r in table_rows(driver, "aliases")), f"the alias: {table_rows(driver, 'aliases')}")

    # Agent profiles: one added; the YAML export and an import.
    driver.get(url + "/admin/profiles")
    fill(driver, "profile", {"id": "role:coder", "models": "normal=gpt-4o-mini\nheavy=gpt-4o"})
    check(any("role:coder" in r and "gpt-4o" in r for r in table_rows(driver, "profiles")), f"the profile: {table_rows(driver, 'profiles')}")
    status, text = fetch_status(driver, "/admin/api/profiles.yaml")
    check(status == 200 and "coder" in text, f"the YAML export from the console: {status} {text!r}")
    fill(driver, "profiles-import", {"body": text.replace("gpt-4o-mini", "gpt-4o")})
    check("Import YAML: done." in driver.page_source, f"the YAML import: {page_errors(driver)}")

    # Settings: the routing strategy saved and shown; a credential's secret never shown.
    driver.get(url + "/admin/settings")
    fill(driver, "settings-routing", {"routing_strategy": "round-robin"})
    selected = driver.find_element(By.CSS_SELECTOR, "#form-settings-routing select[name=routing_strategy] option:checked").get_attribute("value")
    check(selected == "round-robin", f"the routing strategy reads {selected}")
    fill(driver, "credential", {"id": "key:compat:e2e", "provider": "openai-compatible", "base_url": "http://127.0.0.1:9/v1",
                                "extra_headers": "X-Team=e2e", "secret": "sk-e2e-very-secret"})
    check(any("key:compat:e2e" in r and "yes" in r and "X-Team" in r for r in table_rows(driver, "credentials")),
          f"the credential: {table_rows(driver, 'credentials')}")
    check("sk-e2e-very-secret" not in driver.page_source, "the credential's secret is shown")
    # Rotating its secret through the filled form keeps its URL and headers.
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#credentials tr") if "key:compat:e2e" in r.text][0]
    navigate(driver, row.find_element(By.LINK_TEXT, "Edit"))
    form = driver.find_element(By.ID, "form-credential")
    check(form.find_element(By.NAME, "base_url").get_attribute("value") == "http://127.0.0.1:9/v1"
          and form.find_element(By.NAME, "secret").get_attribute("value") == "", "the credential's edit form")
    fill(driver, "credential", {"secret": "sk-rotated"})
    check(any("key:compat:e2e" in r and "http://127.0.0.1:9/v1" in r and "X-Team" in r for r in table_rows(driver, "credentials")),
          f"the credential after its secret was rotated: {table_rows(driver, 'credentials')}")
    fill(driver, "fallback", {"primary_model": "gpt-4o", "chain": "gpt-4o-mini"})
    check(any("gpt-4o-mini" in r for r in table_rows(driver, "fallbacks")), f"the fallback chain: {table_rows(driver, 'fallbacks')}")

    # DLP: a policy, used by an app; the app's edit shows it.
    driver.get(url + "/admin/dlp")
    fill(driver, "dlp", {"id": "dlp:e2e", "name": "E2E", "detectors": "email"})
    check(any("dlp:e2e" in r for r in table_rows(driver, "rules")), f"the DLP policy: {table_rows(driver, 'rules')}")
    # Edited to custom patterns only: the cleared detectors stay cleared.
    row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#rules tr") if "dlp:e2e" in r.text][0]
    navigate(driver, row.find_element(By.LINK_TEXT, "Edit"))
    fill(driver, "dlp", {"detectors": "", "patterns": '[{"name": "SKU", "regex": "SKU-[0-9]+"}]'})
    rules = [r for r in table_rows(driver, "rules") if "dlp:e2e" in r]
    check(len(rules) == 1 and "email" not in rules[0] and "SKU" in rules[0], f"the patterns-only policy: {rules}")
    driver.get(url + "/admin/apps")
    fill(driver, "app", {"id": "app:e2e", "display_name": "E2E App", "dlp": "dlp:e2e"})
    driver.get(url + "/admin/dlp")
    check(any("app:e2e" in r for r in table_rows(driver, "protection")), f"the protection table: {table_rows(driver, 'protection')}")

    # Per-user usage links to the CSV export, which the session may fetch.
    driver.get(url + "/admin/usage")
    status, text = fetch_status(driver, "/admin/api/usage/export.csv?user=user:alice&period=24h")
    check(status == 200 and text.startswith("time") and len(text.strip().splitlines()) == 8, f"alice's CSV export: {status} {text!r}")
    status, _ = fetch_status(driver, "/admin/api/tokens")
    check(status == 200, "the Keys JSON link with the session")


TOKEN = []


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
    TOKEN.append(token)

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
        fill(driver, "token-issue", {"principal": "human:admin", "name": "from the console"})
        secret = driver.find_element(By.ID, "secret").text
        token_id = driver.find_element(By.ID, "token-id").text
        check(secret.startswith("weir_") and len(secret) > 40, f"the revealed secret {secret!r}")
        driver.get(url + "/admin/keys")
        check(secret not in driver.page_source and token_id in driver.page_source, "the secret shows again on the keys page")
        # Revoke it from the table.
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#tokens tr") if token_id in r.text][0]
        confirmed(driver, row.find_element(By.TAG_NAME, "button"))
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#tokens tr") if token_id in r.text][0]
        check("revoked" in row.text, f"after revoke the row reads {row.text!r}")

        # 120 users, 50 a page, loaded lazily: each "Load more" appends the next page's rows
        # to the same table.
        driver.get(url + "/admin/users")
        def user_ids():
            return [r.find_elements(By.TAG_NAME, "td")[1].text for r in driver.find_elements(By.CSS_SELECTOR, "#users tr")[1:]]
        first_page, loads = user_ids(), 0
        next_href = driver.find_element(By.ID, "users-next").get_attribute("href")
        while driver.find_elements(By.ID, "users-next") and loads < 5:
            before = len(user_ids())
            driver.find_element(By.ID, "users-next").click()
            WebDriverWait(driver, 10).until(lambda d: len(user_ids()) > before or not d.find_elements(By.ID, "users-next"))
            loads += 1
        seen = user_ids()
        check(loads == 2 and len(seen) == 120 and len(set(seen)) == 120 and seen[:50] == first_page,
              f"{len(seen)} users after {loads} loads")
        # Without the script the link opens the next page, which starts where the first ended.
        driver.get(next_href)
        check(user_ids()[:1] == seen[50:51], f"the second page starts with {user_ids()[:1]}, not {seen[50:51]}")

        # A script in a display name renders as text (the last user, loaded lazily).
        driver.get(url + "/admin/users?q=zz-hostile")
        check(hostile in driver.find_element(By.ID, "users").text, "the hostile display name is shown as text")
        check(driver.title != "owned" and not driver.find_elements(By.CSS_SELECTOR, "#users img"), "the hostile display name ran")
        driver.get(url + "/admin/users")
        while driver.find_elements(By.ID, "users-next"):
            before = len(user_ids())
            driver.find_element(By.ID, "users-next").click()
            WebDriverWait(driver, 10).until(lambda d: len(user_ids()) > before or not d.find_elements(By.ID, "users-next"))
        check(hostile in driver.find_element(By.ID, "users").text and driver.title.startswith("Users")
              and not driver.find_elements(By.CSS_SELECTOR, "#users img"), "the hostile display name, loaded lazily, ran")

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

        policy_ops(driver, url)
        every_screen(driver, url)

        # A form without the session's CSRF token is refused.
        loaded(driver, lambda: driver.execute_script(
            "var f=document.createElement('form');f.method='post';f.action='/admin/do/user';"
            "var i=document.createElement('input');i.name='id';i.value='user:csrf';f.appendChild(i);document.body.appendChild(f);f.submit();"))
        check("security token did not match" in driver.page_source, "a form without the CSRF token was accepted")

        # A read-only token sees no write controls.
        driver.delete_all_cookies()
        sign_in(driver, url, reader)
        driver.get(url + "/admin/keys")
        check(not driver.find_elements(By.ID, "submit-token-issue") and "(read-only)" in driver.page_source, "a read-only token sees the issue form")
        driver.get(url + "/admin/users")
        check(not driver.find_elements(By.ID, "submit-user"), "a read-only token sees the create form")
        driver.get(url + "/admin/cluster")
        check(not driver.find_elements(By.CSS_SELECTOR, "#cluster button"), "a read-only token sees the drain button")
        for path in ("/admin/policy", "/admin/orgs", "/admin/apps", "/admin/settings", "/admin/dlp"):
            driver.get(url + path)
            check(not driver.find_elements(By.CSS_SELECTOR, "main form[method=post]"), f"a read-only token sees a write form on {path}")
            check(not driver.find_elements(By.LINK_TEXT, "Edit"), f"a read-only token sees Edit links on {path}")
            check(not page_errors(driver), f"{path} for a read-only token: {page_errors(driver)}")

        if args.screenshots:
            driver.delete_all_cookies()
            sign_in(driver, url, token)
            for name, path in SCREENS:
                # The whole page (up to 4000 px), not only the window.
                driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
                driver.get(url + path)
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                       {"width": 1280, "height": min(max(height, 900), 4000), "deviceScaleFactor": 1, "mobile": False})
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

"""End-to-end checks of usage analytics and DLP through the official openai SDK.

Run by Tests/NodeTests/SDKEndToEndTests.swift against three nodes behind haproxy, with
mockllm as the only provider (it records what it receives). Exits 0 when every check holds.

    python usage_e2e.py --balancer URL --nodes URL,URL,URL --token T --mock URL

- DLP round trip: an email and a card number never reach mockllm and come back restored,
  whole and streamed; a bypass with its reason is logged, never a value.
- A cache hit shows in the totals asked of every node.
- The cost per day on every node equals the sum of the priced requests, from the usage the
  answers reported and the price set here.
- The CSV export of a user lists exactly that user's requests.
"""
import argparse
import csv
import io
import json
import sys
import time
import urllib.error
import urllib.request

import openai

failures = []
EMAIL = "alice.smith@example.com"
CARD = "4111 1111 1111 1111"
# The price set for gpt-4o-mini: USD 0.15 and 0.60 per 1k tokens, in micro-USD per token.
INPUT_MICRO, OUTPUT_MICRO = 150, 600


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, flush=True)
    return condition


def http(method, url, token=None, body=None, raw=False):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, (text if raw else (json.loads(text) if text else None))
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, (text if raw else (json.loads(text) if text else None))


def wait_until(what, condition, within=30):
    deadline = time.time() + within
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return check(False, f"timed out waiting until {what}")


def cost(usage):
    return usage.prompt_tokens * INPUT_MICRO + usage.completion_tokens * OUTPUT_MICRO


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--balancer", required=True)
    parser.add_argument("--nodes", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--mock", required=True)
    args = parser.parse_args()
    nodes = args.nodes.split(",")

    def admin(method, path, body=None, node=None, raw=False):
        return http(method, (node or args.balancer) + path, args.token, body, raw)

    for path, body in [
        ("/admin/api/dlp", {"id": "dlp:strict", "action": "redact", "detectors": ["email", "credit_card"]}),
        ("/admin/api/orgs", {"id": "org:acme", "name": "Acme", "dlp": "dlp:strict"}),
        ("/admin/api/users", {"id": "user:alice", "email": "alice@acme.test", "organization": "org:acme"}),
        ("/admin/api/users", {"id": "user:bob", "organization": "org:acme"}),
        ("/admin/api/principals", {"id": "human:alice"}),
        ("/admin/api/principals", {"id": "human:bob"}),
        ("/admin/api/pricing", {"scope": "model", "subject": "gpt-4o-mini", "input_per_1k": 0.15, "output_per_1k": 0.6}),
    ]:
        status, answer = admin("POST", path, body)
        check(status in (200, 201), f"POST {path}: {status} {answer}")
    _, issued = admin("POST", "/admin/api/tokens", {"principal": "human:alice", "user": "user:alice"})
    alice_token = issued["secret"]
    _, issued = admin("POST", "/admin/api/tokens", {"principal": "human:bob", "user": "user:bob", "scopes": ["model.invoke", "dlp.bypass"]})
    bob_token = issued["secret"]
    for node in nodes:  # every node has applied the policy
        admin("GET", "/admin/api/tokens?consistent=true", node=node)

    alice = openai.OpenAI(base_url=args.balancer + "/v1", api_key=alice_token, max_retries=0)
    bob = openai.OpenAI(base_url=args.balancer + "/v1", api_key=bob_token, max_retries=0)
    expected = {"user:alice": 0, "user:bob": 0}
    expected_cost = 0

    # DLP round trip, whole and streamed.
    http("DELETE", args.mock + "/_mock/requests")
    sentence = f"mail {EMAIL} and charge {CARD} today"
    reply = alice.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "/echo " + sentence}])
    check(reply.choices[0].message.content == sentence, f"the whole answer was not restored: {reply.choices[0].message.content!r}")
    expected["user:alice"] += 1
    expected_cost += cost(reply.usage)
    chunks = list(alice.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "/echo " + sentence}], stream=True, stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check(streamed == sentence, f"the streamed answer was not restored: {streamed!r}")
    usage = [c.usage for c in chunks if c.usage]
    check(len(usage) == 1, "the stream reported its usage once")
    expected["user:alice"] += 1
    expected_cost += cost(usage[0])
    _, recorded = http("GET", args.mock + "/_mock/requests")
    seen = json.dumps(recorded)
    check(EMAIL not in seen and CARD not in seen and CARD.replace(" ", "") not in seen, "mockllm received the email or the card")
    check(seen.count("[EMAIL_1]") == 2 and seen.count("[CARD_1]") == 2, f"mockllm did not get the placeholders: {seen[:400]}")

    # A bypass: bob's token may, and says why; the value goes out and the log says so.
    http("DELETE", args.mock + "/_mock/requests")
    raw = bob.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"/echo ticket for {EMAIL}"}], extra_headers={"x-weir-dlp-bypass": "support ticket 42"})
    expected["user:bob"] += 1
    expected_cost += cost(raw.parse().usage)
    _, recorded = http("GET", args.mock + "/_mock/requests")
    check(EMAIL in json.dumps(recorded), "a bypassed request is sent as it is")
    try:
        alice.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-weir-dlp-bypass": "please"})
        check(False, "alice's token may not bypass DLP")
    except openai.PermissionDeniedError as error:
        check(getattr(error, "code", None) == "dlp_bypass_not_allowed", f"bypass refusal: {error}")
    expected["user:alice"] += 1

    # A cache hit: the same deterministic request twice to one node.
    direct = openai.OpenAI(base_url=nodes[0] + "/v1", api_key=alice_token, max_retries=0)
    for attempt in ("miss", "hit"):
        raw = direct.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", temperature=0, messages=[{"role": "user", "content": "cache this answer"}])
        check(raw.headers.get("x-weir-cache") == attempt, f"cache {raw.headers.get('x-weir-cache')}, wanted {attempt}")
        if attempt == "miss":
            expected_cost += cost(raw.parse().usage)
        expected["user:alice"] += 1

    # Traffic spread over the three nodes, and one error.
    for n in range(6):
        user, client = ("user:alice", alice) if n % 2 == 0 else ("user:bob", bob)
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"question {n}"}])
        expected[user] += 1
        expected_cost += cost(answer.usage)
    try:
        bob.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
        check(False, "an unknown model is refused")
    except openai.NotFoundError:
        expected["user:bob"] += 1
    total = sum(expected.values())

    # Every node answers for the whole cluster once the events are written.
    def totals(node):
        return admin("GET", "/admin/api/usage/totals?period=1h", node=node)[1]
    wait_until("every node counts every request", lambda: all(totals(node)["requests"] == total for node in nodes))
    for node in nodes:
        t = totals(node)
        check(t["nodes"]["complete"] and len(t["nodes"]["answered"]) == 3, f"{node}: not every node answered: {t['nodes']}")
        check(t["cache_hits"] == 1 and abs(t["cache_hit_rate"] - 1 / total) < 1e-9, f"{node}: cache hits {t['cache_hits']} of {t['requests']}")
        check(t["active_users"] == 2 and t["errors"] == 2, f"{node}: active users {t['active_users']}, errors {t['errors']}")
        check(t["micro_usd"] == expected_cost, f"{node}: total cost {t['micro_usd']} µUSD, priced requests sum to {expected_cost}")
        _, days = admin("GET", "/admin/api/usage/cost-per-day", node=node)
        check(len(days["days"]) == 7 and sum(d["micro_usd"] for d in days["days"]) == expected_cost,
              f"{node}: cost per day {[d['micro_usd'] for d in days['days']]} against {expected_cost}")
        _, live = admin("GET", "/admin/api/usage/live", node=node)
        check(live["requests"] == total and live["active_users"] == 2 and len(live["minutes"]) == 60, f"{node}: live {live['requests']}")
    _, spenders = admin("GET", "/admin/api/usage/top-spenders?period=1h")
    by_user = {item["user"]: item for item in spenders["items"]}
    check({u: by_user.get(u, {}).get("requests") for u in expected} == expected, f"per-user requests {by_user} against {expected}")
    check(by_user["user:alice"]["email"] == "alice@acme.test", "top spenders carry the user's email")

    # Gateway logs, paged three at a time, through every node.
    ids, cursor, served_by = [], None, set()
    while True:
        _, page = admin("GET", "/admin/api/usage/logs?period=1h&limit=3" + (f"&cursor={cursor}" if cursor else ""))
        ids += [item["request"] for item in page["items"]]
        served_by |= {item["node"] for item in page["items"]}
        times = [item["time"] for item in page["items"]]
        check(times == sorted(times, reverse=True), "logs come newest first")
        cursor = page["next_cursor"]
        if not cursor:
            break
    check(len(ids) == total and len(set(ids)) == total, f"the logs hold {len(ids)} lines ({len(set(ids))} distinct) of {total} requests")
    check(len(served_by) >= 2, f"the requests were served by nodes {served_by}: the fan-out is not exercised")
    _, errors = admin("GET", "/admin/api/usage/errors?period=1h")
    check(sorted(e["type"] for e in errors["items"]) == ["dlp_bypass_not_allowed", "model_not_found"], f"error reports {errors['items']}")

    # DLP counters and activity, with no value in them.
    _, dlp = admin("GET", "/admin/api/usage/dlp")
    check(dlp["redacted_requests_24h"] == 2 and dlp["redactions_24h"] == 4 and dlp["bypasses_24h"] == 1, f"DLP counts {dlp}")
    check(dlp["organizations_protected"] == 1 and dlp["policies"][0]["last_activity"] is not None, f"DLP policies {dlp['policies']}")
    status, activity = admin("GET", "/admin/api/usage/dlp/activity?period=1h", raw=True)
    kinds = sorted(item["kind"] for item in json.loads(activity)["items"])
    check(kinds == ["bypass", "redact", "redact"], f"DLP activity kinds {kinds}")
    check("support ticket 42" in activity, "the bypass reason is in the activity log")
    check(EMAIL not in activity and CARD not in activity, "the activity log holds a raw value")

    # The CSV export of alice: exactly her requests.
    status, text = admin("GET", "/admin/api/usage/export.csv?period=1h&user=user:alice", raw=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    check(status == 200 and len(rows) == expected["user:alice"], f"alice's export has {len(rows)} rows, she made {expected['user:alice']} requests")
    check(all(row["user"] == "user:alice" for row in rows), "the export holds another user's request")
    check(len({row["request"] for row in rows}) == len(rows), "the export repeats a request")
    check([row["time"] for row in rows] == sorted(row["time"] for row in rows), "the export is oldest first")
    check(EMAIL not in text, "the export holds a raw value")

    print(f"usage: {total} requests, {expected_cost} µUSD, served by nodes {sorted(served_by)}", flush=True)
    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    print("all usage checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

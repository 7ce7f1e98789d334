"""End-to-end checks of a Weir cluster through the official openai and anthropic SDKs.

Run by Tests/NodeTests/SDKEndToEndTests.swift against three nodes behind haproxy, with
mockllm as the only provider. Exits 0 when every check holds; prints what failed otherwise.

    python sdk_e2e.py --balancer URL --nodes URL,URL,URL --token T --cap-token T2 --mock URL
"""
import argparse
import concurrent.futures
import json
import sys
import time
import urllib.request

import anthropic
import openai

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message, flush=True)


def mock_fault(mock, fault):
    request = urllib.request.Request(mock + "/_mock/faults", data=json.dumps(fault).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--balancer", required=True)
    parser.add_argument("--nodes", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--cap-token", required=True)
    parser.add_argument("--mock", required=True)
    args = parser.parse_args()
    nodes = args.nodes.split(",")

    client = openai.OpenAI(base_url=args.balancer + "/v1", api_key=args.token, max_retries=0)
    claude = anthropic.Anthropic(base_url=args.balancer, api_key=args.token, max_retries=0)

    # Chat, whole and streamed.
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}])
    text = reply.choices[0].message.content
    check(text.startswith("This is mockllm answering gpt-4o-mini"), f"chat answered {text!r}")
    check(reply.usage is not None and reply.usage.completion_tokens == 16, f"chat usage {reply.usage}")
    streamed = "".join(chunk.choices[0].delta.content or ""
                       for chunk in client.chat.completions.create(
                           model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True)
                       if chunk.choices)
    check(streamed == text, f"streamed chat {streamed!r} differs from {text!r}")

    # Embeddings.
    vectors = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    check(len(vectors.data) == 2 and len(vectors.data[0].embedding) == 8, f"embeddings {vectors}")

    # Messages, whole and streamed, to an OpenAI-dialect deployment (translated).
    message = claude.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hello"}])
    check(message.content[0].text.startswith("This is mockllm answering claude-sonnet-4-5"), f"messages answered {message}")
    check(message.usage.output_tokens == 16, f"messages usage {message.usage}")
    with claude.messages.stream(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Hello"}]) as stream:
        pieces = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(pieces == message.content[0].text, f"streamed messages {pieces!r}")
    check(final.stop_reason == "end_turn", f"streamed stop reason {final.stop_reason}")

    # Fallback on injected 500s: gpt-4o fails, its chain answers with gpt-4o-mini.
    mock_fault(args.mock, {"kind": "status", "status": 500, "count": 3, "model": "gpt-4o"})
    for _ in range(3):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
        check(raw.headers.get("x-weir-model") == "gpt-4o-mini", f"fallback answered with {raw.headers.get('x-weir-model')}")
        check(raw.parse().model == "gpt-4o-mini", "the fallback's own answer")
    check(client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Hi"}]).headers.get("x-weir-model") == "gpt-4o", "the fault is spent")

    # A cap of 300 requests per 10 s, hit through all three nodes at once.
    while not 0.3 <= time.time() % 10 <= 1.0:
        time.sleep(0.05)
    clients = [openai.OpenAI(base_url=node + "/v1", api_key=args.cap_token, max_retries=0) for node in nodes]

    def one(n):
        try:
            clients[n % 3].chat.completions.create(model="gpt-4o-mini", max_tokens=4, messages=[{"role": "user", "content": "x"}])
            return "ok"
        except openai.RateLimitError as error:
            return "quota" if getattr(error, "code", None) == "quota_exceeded" else f"429 {error}"
        except Exception as error:  # noqa: BLE001 - reported, then counted as a failure
            return f"error {error}"

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = list(pool.map(one, range(420)))
    elapsed = time.time() - started
    admitted = outcomes.count("ok")
    others = [o for o in outcomes if o not in ("ok", "quota")]
    print(f"cap: {admitted} admitted, {outcomes.count('quota')} refused, {len(others)} other, in {elapsed:.1f} s", flush=True)
    check(not others, f"unexpected outcomes: {others[:3]}")
    if elapsed < 8.5:
        check(297 <= admitted <= 300, f"{admitted} admitted against a cap of 300")
    else:
        print("cap: the burst outlasted its window; the bound is not checked", flush=True)
        check(False, f"the burst of 420 took {elapsed:.1f} s, longer than one 10 s window")

    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    print("all SDK checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

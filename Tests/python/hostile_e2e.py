"""Seeded hostile input against one running node: every data-plane and admin endpoint.

Run by Tests/NodeTests/HostileInputTests.swift against a single node with mockllm as its
demo upstream; runs by hand against any node too. Standard library only.

    python3 hostile_e2e.py --base http://127.0.0.1:PORT --token SECRET [--seed N] [--cases N]
    python3 hostile_e2e.py --base ... --token ... --seed S --replay S:CASE   # one case again

Each case is drawn from random.Random("SEED:CASE"), so a case replays on its own. Cases:

- the data plane (POST /v1/chat/completions whole and streamed, /v1/embeddings,
  /v1/messages whole and streamed, /v1/messages/count_tokens, GET /v1/models): a
  realistic body with one to three fields mutated (extreme integers, floats where integers
  are expected, every wrong type, deep nesting, huge and strange unicode strings, tool
  calls and results of the wrong shapes), or the bytes mutated (cut at a random byte,
  duplicate keys, NaN/Infinity/1e400 as raw text, invalid UTF-8, NUL), a wrong
  Content-Type, an empty or non-JSON body, odd headers and tokens;
- every admin operation of GET /openapi.json (but the ones in EXCLUDED below), with junk
  and plausible path ids, hostile query strings (limit, cursor, from/to, period …) and
  bodies sampled from the operation's schema, then mutated the same way or with their
  numbers at the extremes of their JSON type;
- client disconnects at each phase (before the body, mid-body, after the request, mid
  stream), HTTP-level junk (bad request lines, huge headers, bad chunking), and a
  slowloris socket while other requests must still be answered;
- a hostile provider: the script serves an OpenAI- and Anthropic-dialect upstream on a
  loopback port (EvilUpstream; --no-evil-upstream leaves it out) whose answers are wrong
  in ~30 ways (absurd usage, broken JSON and SSE, huge bodies, odd statuses …), reached
  through hostile-evil-* deployments; mockllm's own fault API makes hostile-up-500/429/drop.

A case fails when the node answers 500 (or any 5xx but 502/503/504), a 502/503/504 without
a JSON error body, does not answer at all (timeout, reset) when the client did not close on
purpose, or cuts a response short (unless its upstream broke off first). After every case
/health/live must answer 200; a node that stopped answering ends the run. After the cases,
an overflow phase sends the hostile provider's most expensive believable answers until the
cost sums pass Int64.max; then no counter of /metrics may be negative, and the gauge
weir_quota_open_reservations must be 0 within 30 s (every reservation settled or
cancelled); a missing gauge fails the run (WEIR_HOSTILE_REQUIRE_GAUGE=0 makes it a warning).

Environment: WEIR_HOSTILE_REQUIRE_GAUGE=0 (above); WEIR_HOSTILE_ALLOW_RELAYED_5XX=1 lets a
provider's 5xx passed on as the node's own status be a note instead of a failure;
WEIR_HOSTILE_SKIP=REGEX leaves out cases whose request matches (to look past a known crash
while it is being fixed; never set by the suite).

The state a case runs against is made by a fixed set-up at the start (hostile tokens,
apps, DLP policies, credentials, deployments, prices and quotas, all with "hostile-" ids),
run on a replay too; fuzzed admin writes only touch "hostile-tmp" ids, the quotas of
user:hostile-fix-quota and the gateway settings (reset after each case that changes them),
so a replayed case meets the same state unless an earlier case's write is what it depends on.

Prints `hostile: N passed, M failed` last; exit status 0 only when nothing failed.
"""
import argparse
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse

TIMEOUT = 20.0          # every socket operation
BODY_KEEP = 64 * 1024   # response bytes kept for the checks
DATA_BODY_MAX = 4 << 20   # DataPlaneRoutes.requestBytesMax
ADMIN_BODY_MAX = 256 * 1024  # AdminBodyDecoder.bodyBytesMax

# Operations of /openapi.json never called: they would take away what the rest of the run
# needs (a node that serves, the super-admin token, the demo deployments).
EXCLUDED = {
    # revoking a token: a plausible id is the super-admin token the run uses
    ("POST", "/admin/api/tokens/{id}/revoke"),
    ("DELETE", "/admin/api/tokens/{id}"),
    # membership and node operations: drain and remove take the node out of its own
    # cluster, transfer-leader and join change the voters, snapshot compacts the log and
    # backup writes a checkpoint (snapshot/restore), none of which a hostile body may try
    ("POST", "/admin/api/cluster/drain"),
    ("POST", "/admin/api/cluster/remove"),
    ("POST", "/admin/api/cluster/transfer-leader"),
    ("POST", "/admin/api/cluster/join"),
    ("POST", "/admin/api/cluster/snapshot"),
    ("POST", "/admin/api/cluster/backup"),
}
# Any other operation under /admin/api/cluster that is not a GET is excluded as well
# (one added later may change membership).
def excluded(method, path):
    if (method, path) in EXCLUDED:
        return True
    if path.startswith("/admin/api/cluster") and method != "GET":
        return True
    if "revoke" in path and path.startswith("/admin/api/tokens"):
        return True
    return False


REAL_MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "claude-sonnet-4-5", "claude-haiku-4-5"]
# Models the set-up deploys with hostile weights, prices, credentials and dialects.
# (hostile-badurl, whose provider refuses connections, is deployed but not drawn: the
# upstream client retries a refused connect until its 10 s connect timeout.)
HOSTILE_MODELS = ["hostile-weighted", "hostile-pricey", "hostile-tiny-price", "hostile-claude", "hostile-up-500",
                  "hostile-up-429", "hostile-up-drop", "hostile-azure", "hostile-ollama", "hostile-headers", "hostile-fallback", "hostile-alias",
                  "hostile-unpriced", "hostile/slashed:model"]

# ---------------------------------------------------------------------------------------
# JSON with the things json.dumps will not write: raw text, duplicate keys, lone surrogates.


class Raw(str):
    """Written as it is, not as a JSON string."""


class Dup:
    """An object whose key/value pairs are written in order, repeats included."""

    def __init__(self, pairs):
        self.pairs = pairs


def dump(value, ascii_only=True):
    """JSON text (str) for value; Raw and Dup as described; NaN and infinities as their names."""
    out = []
    stack = [value]
    # iterative, so 100k levels of nesting given as Python objects cannot overflow
    def emit(v):
        if isinstance(v, Raw):
            out.append(str(v))
        elif v is None:
            out.append("null")
        elif v is True:
            out.append("true")
        elif v is False:
            out.append("false")
        elif isinstance(v, int):
            out.append(str(v))
        elif isinstance(v, float):
            if v != v:
                out.append("NaN")
            elif v in (float("inf"), float("-inf")):
                out.append("Infinity" if v > 0 else "-Infinity")
            else:
                out.append(repr(v))
        elif isinstance(v, str):
            out.append(json.dumps(v, ensure_ascii=ascii_only))
        elif isinstance(v, Dup):
            out.append("{")
            for i, (k, x) in enumerate(v.pairs):
                if i:
                    out.append(",")
                out.append(json.dumps(k, ensure_ascii=ascii_only) + ":")
                emit(x)
            out.append("}")
        elif isinstance(v, dict):
            out.append("{")
            for i, (k, x) in enumerate(v.items()):
                if i:
                    out.append(",")
                out.append(json.dumps(str(k), ensure_ascii=ascii_only) + ":")
                emit(x)
            out.append("}")
        elif isinstance(v, (list, tuple)):
            out.append("[")
            for i, x in enumerate(v):
                if i:
                    out.append(",")
                emit(x)
            out.append("]")
        else:
            out.append(json.dumps(str(v)))
    emit(value)
    return "".join(out)


def encode(value, ascii_only=True):
    # surrogatepass: a lone surrogate written without escaping becomes invalid UTF-8 on purpose
    return dump(value, ascii_only).encode("utf-8", "surrogatepass")

# ---------------------------------------------------------------------------------------
# Hostile values.

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"
EXTREME_INTS = [2**63 - 1, -2**63, 2**64, 2**63, -2**63 - 1, 2**64 - 1, -1, 0, 1, 2**31 - 1, 2**31, 2**32, -2**31 - 1,
                2**53 + 1, 10**30, -10**30, 10**400, 2**40, 65537, 1_000_001]
EXTREME_FLOATS = [1e308, -1e308, 1e-308, 5e-324, -0.0, 0.5, 1.5, 9.223372036854776e18, 1.8446744073709552e19, 1e19,
                  -1e19, 1e300, 2.5, 1e-7, float("nan"), float("inf"), float("-inf")]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "nan", "inf", "1e400", "-1e400", "1E+999999999", "-0", "0e0", "1" + "0" * 400,
               "-" + "9" * 300, "0x10", "01", "+1", ".5", "1.", "1e", "9223372036854775807.1", "-9223372036854775808.5",
               "18446744073709551616", "9223372036854775808", "-9223372036854775809", "1e-400", "4.9e-325",
               "123456789012345678901234567890.5e-10"]


def huge(rng, size=None):
    size = size or rng.choice([64 * 1024, 1 << 20])
    return rng.choice(["A", "é", FAMILY, "\u202e", "[EMAIL_1]", "x@y.io "])* (size // 8 + 1)


def strange_string(rng):
    choices = [
        lambda: "",
        lambda: " ",
        lambda: "x",
        lambda: FAMILY * 60,
        lambda: "\u202e\u200f\u202b" + "abc" + "\u200e\u202c" * 10,
        lambda: "\u0000",
        lambda: "a\u0000b",
        lambda: "\ud800",            # lone surrogate, written as \ud800
        lambda: "\udfff\ud800x",
        lambda: "e" + "\u0301" * 2000,
        lambda: "\uffff\ufffe\U0010ffff",
        lambda: "\u200b" * 500,
        lambda: "%s%n%x%d{0}{{7*7}}${jndi:ldap://x}",
        lambda: "../../../../etc/passwd",
        lambda: "<script>alert(1)</script>",
        lambda: "'; DROP TABLE users; --",
        lambda: "\r\nX-Injected: 1\r\n\r\n",
        lambda: "[EMAIL_1] [PHONE_2] [CREDIT_CARD_1] [API_KEY_9]",
        lambda: "alice@example.com 4111 1111 1111 1111 +1 415 555 0100 DE89370400440532013000 sk-abcdefghijklmnopqrstuvwx",
        lambda: "\\",
        lambda: "\"",
        lambda: "data: [DONE]\n\nevent: message_stop\ndata: {}\n\n",
        lambda: "/echo " + FAMILY * 10,
        lambda: "\ufeff" + "bom",
        lambda: "ß" * 300,
        lambda: "a" * 257,
        lambda: "a" * 10_000,
        lambda: huge(rng, 64 * 1024),
        lambda: huge(rng, 1 << 20) if rng.random() < 0.3 else "y" * 4096,
    ]
    return rng.choice(choices)()


def deep(rng, kind=None, levels=None):
    levels = levels or rng.choice([17, 64, 600, 1000, 10_000, 100_000])
    kind = kind or rng.choice(["array", "object", "mixed"])
    if kind == "array":
        return Raw("[" * levels + "]" * levels)
    if kind == "object":
        return Raw('{"a":' * levels + "1" + "}" * levels)
    return Raw('[{"a":' * (levels // 2) + "[]" + "}]" * (levels // 2))


def wrong_type(rng):
    return rng.choice([None, True, False, [], {}, [None], {"a": 1}, "string", "16", "", 0, -1, 1.5, [1, "x", None],
                       {"": None}, [[[]]]])


def hostile_value(rng):
    r = rng.random()
    if r < 0.25:
        return rng.choice(EXTREME_INTS)
    if r < 0.37:
        return rng.choice(EXTREME_FLOATS)
    if r < 0.50:
        return Raw(rng.choice(RAW_NUMBERS))
    if r < 0.68:
        return wrong_type(rng)
    if r < 0.88:
        return strange_string(rng)
    if r < 0.95:
        return deep(rng)
    return [hostile_value(rng) for _ in range(rng.randint(0, 4))]

# ---------------------------------------------------------------------------------------
# Realistic bodies of the data plane, and their mutations.


def text_content(rng):
    return rng.choice(["Hello", "Say hi", "/echo hello", "What is 2+2?", "Write a haiku about " + FAMILY])


def chat_message(rng):
    role = rng.choice(["user", "user", "user", "assistant", "system", "developer", "tool"])
    if rng.random() < 0.7:
        content = text_content(rng)
    else:
        content = [{"type": "text", "text": text_content(rng)}]
        if rng.random() < 0.3:
            content.append({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}})
    message = {"role": role, "content": content}
    if role == "tool":
        message["tool_call_id"] = "call_1"
    if role == "assistant" and rng.random() < 0.4:
        message["tool_calls"] = [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    return message


def openai_tools(rng):
    return [{"type": "function", "function": {"name": "get_weather", "description": "weather",
                                              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def anthropic_tools(rng):
    return [{"name": "get_weather", "description": "weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def anthropic_message(rng):
    role = rng.choice(["user", "user", "assistant"])
    r = rng.random()
    if r < 0.6:
        content = text_content(rng)
    elif r < 0.8:
        content = [{"type": "text", "text": text_content(rng)}]
    elif r < 0.9:
        content = [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]
    else:
        content = [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]}]
    return {"role": role, "content": content}


def chat_body(rng, model, stream):
    body = {"model": model, "messages": [{"role": "user", "content": text_content(rng)}]}
    if rng.random() < 0.3:
        body["messages"] = [chat_message(rng) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.5:
        body["max_tokens"] = rng.choice([1, 16, 64])
    if rng.random() < 0.3:
        body["temperature"] = rng.choice([0, 0.7, 1])
    if rng.random() < 0.2:
        body["tools"] = openai_tools(rng)
        body["tool_choice"] = "auto"
    if stream:
        body["stream"] = True
        if rng.random() < 0.5:
            body["stream_options"] = {"include_usage": True}
    return body


def embeddings_body(rng, model):
    body = {"model": model, "input": rng.choice(["hello", ["a", "b"], [1, 2, 3], [[1, 2], [3]]])}
    if rng.random() < 0.3:
        body["dimensions"] = 8
    if rng.random() < 0.2:
        body["encoding_format"] = rng.choice(["float", "base64"])
    return body


def messages_body(rng, model, stream):
    body = {"model": model, "max_tokens": rng.choice([1, 16, 200]), "messages": [{"role": "user", "content": text_content(rng)}]}
    if rng.random() < 0.3:
        body["messages"] = [anthropic_message(rng) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:
        body["system"] = rng.choice(["be brief", [{"type": "text", "text": "be brief"}]])
    if rng.random() < 0.2:
        body["tools"] = anthropic_tools(rng)
    if stream:
        body["stream"] = True
    return body


def count_tokens_body(rng, model):
    body = {"model": model, "messages": [{"role": "user", "content": text_content(rng)}]}
    if rng.random() < 0.3:
        body["system"] = "be brief"
    return body


CHAT_FIELDS = ["model", "messages", "max_tokens", "max_completion_tokens", "n", "temperature", "top_p", "stream", "stream_options",
               "tools", "tool_choice", "response_format", "stop", "seed", "logprobs", "top_logprobs", "presence_penalty",
               "frequency_penalty", "logit_bias", "user", "parallel_tool_calls", "metadata", "store", "modalities", "audio"]
EMBED_FIELDS = ["model", "input", "dimensions", "encoding_format", "user"]
MESSAGES_FIELDS = ["model", "messages", "max_tokens", "system", "stream", "temperature", "top_k", "top_p", "stop_sequences", "tools",
                   "tool_choice", "metadata", "thinking", "service_tier"]
COUNT_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking"]


SCALARS = [1, -1, 0, 1.5, "s", "", None, True, False, [], [1], 2**64, "{}", '{"a":1}']


def hostile_tool_turns(rng, anthropic):
    """Tool calls and results whose parts have the wrong shapes (what the translations
    between the dialects must carry or refuse, never trap on)."""
    def junk():
        return rng.choice(SCALARS) if rng.random() < 0.7 else hostile_value(rng)
    if anthropic:
        use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
        use[rng.choice(["input", "input", "input", "id", "name", "type"])] = junk()
        result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": rng.choice([junk(), [{"type": "text", "text": junk()}], [junk()]])}
        if rng.random() < 0.3:
            result["is_error"] = junk()
        return [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": [use]},
                {"role": "user", "content": [result] if rng.random() < 0.8 else junk()}]
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    where = rng.choice(["arguments", "arguments", "arguments", "name", "function", "id", "type"])
    if where in ("arguments", "name"):
        call["function"][where] = junk()
    else:
        call[where] = junk()
    tool = {"role": "tool", "tool_call_id": rng.choice(["call_1", junk()]), "content": rng.choice(["sunny", junk(), [{"type": "text", "text": junk()}]])}
    return [{"role": "user", "content": "weather?"},
            {"role": "assistant", "content": rng.choice([None, "", junk()]), "tool_calls": [call] if rng.random() < 0.85 else junk()}, tool]


def hostile_messages(rng, anthropic):
    """A messages array with something wrong in it."""
    if rng.random() < 0.3:
        return hostile_tool_turns(rng, anthropic)
    pick = rng.randrange(14)
    if pick == 0:
        return []
    if pick == 1:
        return [{"role": "user", "content": huge(rng)}]
    if pick == 2:
        return [{"role": "user", "content": strange_string(rng)}]
    if pick == 3:
        return [{"role": hostile_value(rng), "content": "hi"}]
    if pick == 4:
        return [{"role": "user", "content": hostile_value(rng)}]
    if pick == 5:
        return [{"role": "user", "content": [{"type": hostile_value(rng), "text": hostile_value(rng)}]}]
    if pick == 6:
        return [{"role": "user", "content": "m%d" % i} for i in range(rng.choice([1000, 10_000]))]
    if pick == 7:
        return [hostile_value(rng) for _ in range(rng.randint(1, 3))]
    if pick == 8:  # tool calls with weird arguments
        args = rng.choice(['{"city":', "not json", "", "{}" * 1000, '{"a":' * 500 + "1" + "}" * 500, FAMILY * 60])
        return [{"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": hostile_value(rng) if rng.random() < 0.3 else "call_1", "type": "function",
                                                                       "function": {"name": hostile_value(rng) if rng.random() < 0.5 else "f",
                                                                                    "arguments": args if rng.random() < 0.7 else hostile_value(rng)}}]},
                {"role": "tool", "tool_call_id": hostile_value(rng) if rng.random() < 0.5 else "call_1", "content": hostile_value(rng)}]
    if pick == 9 and anthropic:
        return [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": hostile_value(rng), "content": hostile_value(rng)}]}]
    if pick == 10 and anthropic:
        return [{"role": "assistant", "content": [{"type": "tool_use", "id": hostile_value(rng), "name": hostile_value(rng), "input": hostile_value(rng)}]}]
    if pick == 11:
        return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": hostile_value(rng)}},
                                             {"type": "image", "source": {"type": "base64", "media_type": hostile_value(rng), "data": huge(rng, 64 * 1024)}}]}]
    if pick == 12:
        return [{"role": "user", "content": "x", "name": hostile_value(rng), hostile_key(rng): hostile_value(rng)}]
    return [{"role": "user", "content": [{"type": "text", "text": strange_string(rng)} for _ in range(rng.randint(1, 50))]}]


def hostile_tools(rng, anthropic):
    pick = rng.randrange(6)
    if pick == 0:
        return hostile_value(rng)
    if pick == 1:
        return [hostile_value(rng)]
    if anthropic:
        return [{"name": hostile_value(rng) if rng.random() < 0.5 else "t", "description": strange_string(rng),
                 "input_schema": hostile_value(rng) if rng.random() < 0.7 else deep(rng, "object")}]
    return [{"type": rng.choice(["function", hostile_value(rng)]),
             "function": {"name": hostile_value(rng) if rng.random() < 0.5 else "t",
                          "parameters": hostile_value(rng) if rng.random() < 0.7 else deep(rng, "object")}}
            for _ in range(rng.choice([1, 2, 200]))]


def typed_extremes(rng, value, schema):
    """value (sampled from schema) with its numbers at the extremes their JSON type allows,
    the rest left valid: what gets past type checks to the arithmetic."""
    properties = (schema or {}).get("properties") or {}
    out = dict(value)
    for name, child in properties.items():
        kind = (child or {}).get("type")
        if kind == "integer" and (name in out or rng.random() < 0.5):
            out[name] = rng.choice(EXTREME_INTS[:16] + [9_200_000_000_000_000, 9_200_000_000_000_001, 86_400, 86_401, 1_000_000, 3_153_600_000, 253402300799999])
        elif kind == "number" and (name in out or rng.random() < 0.5):
            out[name] = rng.choice([1e308, -1e308, 5e-324, -0.0, 9.2e12, 9.2e9, 1e6, 1e6 + 1e-6, 0.0000001, 1.7976931348623157e308, 9.223372036854775e12])
        elif kind == "string" and name in out and rng.random() < 0.3:
            out[name] = str(out[name]) + rng.choice(["", FAMILY * 40, "\u0000", "\u202e", " "])
    return out


def hostile_key(rng):
    return rng.choice(["", "\u0000", FAMILY, "\ud800", "a" * 10_000, "__proto__", "constructor", "$ref", "model ", "MODEL", "x-" * 50])


def mutate_fields(rng, body, fields, anthropic, stream, models=None):
    """One to three field mutations of body (a dict); returns a dict or a Dup. models: the
    names a mutated "model" may take (admin bodies must not name the real models)."""
    body = dict(body)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.random()
        field = rng.choice(fields)
        if op < 0.45:
            body[field] = hostile_value(rng)
        elif op < 0.55:
            body.pop(field, None)
        elif op < 0.72 and "messages" in fields:
            body["messages"] = hostile_messages(rng, anthropic)
        elif op < 0.76 and "tools" in fields:
            body["tools"] = hostile_tools(rng, anthropic)
            if rng.random() < 0.5:
                body["tool_choice"] = hostile_value(rng) if rng.random() < 0.6 else {"type": "function", "function": {"name": "nope"}}
        elif op < 0.84:  # numbers the reservation arithmetic reads
            key = rng.choice(["max_tokens", "max_completion_tokens", "n", "dimensions", "top_k", "seed", "top_logprobs"])
            body[key] = rng.choice(EXTREME_INTS + EXTREME_FLOATS + [Raw(x) for x in RAW_NUMBERS])
        elif op < 0.90 and stream:
            body["stream_options"] = rng.choice([{"include_usage": hostile_value(rng)}, hostile_value(rng), {"include_usage": True, "x": 1}])
        elif op < 0.95:
            body[hostile_key(rng)] = hostile_value(rng)
        else:
            body["model"] = rng.choice(models or (HOSTILE_MODELS + REAL_MODELS + ["", " ", "gpt-4o-mini\u0000", "a" * 300, FAMILY * 60,
                                                                                  "gpt-4o-mini/../../x", "%00", "ollama/gemma3"]))
    if rng.random() < 0.08:  # the same key twice: first good then bad, or the other way
        pairs = list(body.items())
        key = rng.choice(["model", "max_tokens", "stream", "messages", "n"])
        extra = (key, hostile_value(rng))
        pairs.insert(rng.randint(0, len(pairs)), extra)
        return Dup(pairs)
    return body


def mutate_bytes(rng, data):
    """Mutations of serialized JSON: cut, raw junk, invalid UTF-8 …; returns (bytes, label)."""
    pick = rng.randrange(12)
    if pick == 0 and data:
        cut = rng.randrange(len(data))
        return data[:cut], "cut at byte %d" % cut
    if pick == 1:
        return b"", "empty body"
    if pick == 2:
        return rng.choice([b"hello", b"[]", b"null", b"1", b'"str"', b"true", b"{", b"}", b"{]", b"<xml/>", b"model=gpt-4o-mini",
                           b"\x00\x00\x00", b"{\"model\":\"gpt-4o-mini\"}garbage", b"{}{}", b"\xef\xbb\xbf{}", b"  \n\t ",
                           b"[" * 10_000, b"{\"a\":" * 10_000]), "non-JSON"
    if pick == 3:  # invalid UTF-8 inside a string
        i = data.find(b'"content":"')
        if i >= 0:
            j = i + len(b'"content":"')
            return data[:j] + rng.choice([b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"]) + data[j:], "invalid UTF-8"
        return data + b"\xff", "invalid UTF-8 after"
    if pick == 4:  # raw NUL and control characters in the text
        return data.replace(b"Hello", b"He\x00l\x01lo\x1f", 1).replace(b"hello", b"he\x00llo", 1), "raw control chars"
    if pick == 5:  # a number literal replaced by junk
        numbers = [m for m in re.finditer(rb"(?<![\w\"])-?\d+(\.\d+)?", data)]
        if numbers:
            m = rng.choice(numbers)
            return data[:m.start()] + rng.choice(RAW_NUMBERS).encode() + data[m.end():], "raw number"
        return data, "unchanged"
    if pick == 6:
        return b"\xef\xbb\xbf" + data, "BOM"
    if pick == 7:
        return data + rng.choice([b" ", b"\n", b"x", b",", b"}", b"\x00"]), "trailing junk"
    if pick == 8:  # the whole body nested deeper and deeper
        n = rng.choice([100, 10_000])
        return b"[" * n + data + b"]" * n, "wrapped in %d arrays" % n
    if pick == 9:
        return data.replace(b'"', b"'"), "single quotes"
    if pick == 10:  # a 5 MB body, over the data plane limit
        pad = b" " * (5 << 20)
        return data[:-1] + b',"pad":"' + pad + b'"}' if data.endswith(b"}") else data + pad, "5 MB body"
    return data.replace(b":", b" : ", 3), "spaced"


# ---------------------------------------------------------------------------------------
# A tiny HTTP/1.1 client on raw sockets: it must send any bytes, close at any moment, and
# read a response the node sends before the request is complete.


class Answer:
    def __init__(self):
        self.status = None
        self.head = b""
        self.headers = {}
        self.body = b""
        self.body_bytes = 0
        self.complete = False
        self.error = None         # "timeout", "reset", "closed before the response" …
        self.send_error = None
        self.elapsed = 0.0

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8", "replace"))
        except Exception:
            return None


def q(text, safe="/"):
    """Percent-encoding of text, lone surrogates included (as invalid UTF-8)."""
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe=safe)


def split_base(base):
    parsed = urllib.parse.urlsplit(base)
    return parsed.hostname or "127.0.0.1", parsed.port or 80


def build_request(method, target, headers, body, host_header):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host_header]
    names = {k.lower() for k, _ in headers}
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head, body or b""


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.eof = False

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def until(self, marker, limit=1 << 20):
        while marker not in self.buffer:
            if len(self.buffer) > limit or not self.fill():
                return None
        i = self.buffer.index(marker) + len(marker)
        out, self.buffer = self.buffer[:i], self.buffer[i:]
        return out

    def exactly(self, n):
        while len(self.buffer) < n:
            if not self.fill():
                return None
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


def read_answer(sock, answer, method="GET", body_limit=None, keep_max=BODY_KEEP):
    """Reads one response into answer (skipping 1xx); body_limit bytes then stops (None: all)."""
    reader = Reader(sock)
    while True:
        head = reader.until(b"\r\n\r\n")
        if head is None:
            answer.error = answer.error or ("closed before the response" if not reader.buffer else "closed inside the response head")
            answer.head = reader.buffer[:2000]
            return
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            answer.error = "bad status line %r" % lines[0][:100]
            answer.head = head
            return
        if 100 <= status < 200 and status != 101:
            continue
        answer.status, answer.head = status, head
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                answer.headers[k.strip().lower()] = v.strip()
        break
    if method == "HEAD" or answer.status in (204, 304):
        answer.complete = True
        return
    # (an answer to CONNECT has neither Content-Length nor chunks: the node must close the
    # connection after it, or its end never comes; it is read to the close below)
    kept = []
    kept_size = [0]
    def keep(data):
        answer.body_bytes += len(data)
        if kept_size[0] < keep_max:
            kept.append(data)
            kept_size[0] += len(data)
    try:
        if "chunked" in (answer.header("transfer-encoding") or "").lower():
            while True:
                size_line = reader.until(b"\r\n", limit=4096)
                if size_line is None:
                    answer.error = "response cut inside its chunks"
                    return
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    answer.error = "bad chunk size %r" % size_line[:40]
                    return
                if size == 0:
                    while True:
                        trailer = reader.until(b"\r\n", limit=65536)
                        if trailer is None or trailer == b"\r\n":
                            break
                    answer.complete = True
                    return
                data = reader.exactly(size + 2)
                if data is None:
                    answer.error = "response cut inside a chunk"
                    keep(reader.buffer)
                    return
                keep(data[:-2])
                if body_limit is not None and answer.body_bytes >= body_limit:
                    return
        elif answer.header("content-length") is not None:
            try:
                remaining = int(answer.header("content-length"))
            except ValueError:
                answer.error = "bad Content-Length %r" % answer.header("content-length")
                return
            while remaining > 0:
                if not reader.buffer and not reader.fill():
                    answer.error = "response cut: %d of its bytes missing" % remaining
                    return
                data, reader.buffer = reader.buffer[:remaining], reader.buffer[remaining:]
                remaining -= len(data)
                keep(data)
                if body_limit is not None and answer.body_bytes >= body_limit:
                    return
            answer.complete = True
        else:
            while True:
                if reader.buffer:
                    keep(reader.buffer)
                    reader.buffer = b""
                if body_limit is not None and answer.body_bytes >= body_limit:
                    return
                if not reader.fill():
                    break
            answer.complete = True
    finally:
        answer.body = b"".join(kept)[:keep_max]


def exchange(base, method, target, headers=(), body=None, mode="normal", rng=None, raw=None, timeout=TIMEOUT, keep_max=BODY_KEEP):
    """Sends one request and reads its answer. mode: normal, close-before-body,
    close-mid-body, close-after-request, close-mid-stream. raw: bytes sent as they are."""
    host, port = split_base(base)
    answer = Answer()
    started = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        answer.error = "connect failed: %s" % error
        return answer
    sock.settimeout(timeout)
    try:
        if raw is not None:
            head, payload = raw, b""
        else:
            head, payload = build_request(method, target, list(headers), body, "%s:%d" % (host, port))
        if mode == "close-before-body":
            sock.sendall(head)
            time.sleep(rng.random() * 0.05 if rng else 0)
            abort(sock, rng)
            answer.error = "closed by the client on purpose"
            return answer
        if mode == "close-mid-body":
            sock.sendall(head + payload[: rng.randrange(max(1, len(payload)))])
            time.sleep(rng.random() * 0.05 if rng else 0)
            abort(sock, rng)
            answer.error = "closed by the client on purpose"
            return answer
        if mode == "close-after-request":
            sock.sendall(head + payload)
            time.sleep(rng.choice([0, 0, 0.001, 0.01, 0.03]) if rng else 0)
            abort(sock, rng)
            answer.error = "closed by the client on purpose"
            return answer
        data = head + payload
        sender = None
        if len(data) > 256 * 1024:
            # a big body is sent beside the reader: the node may answer (413) before it is all in
            def send():
                try:
                    sock.sendall(data)
                except OSError as error:
                    answer.send_error = str(error)
            sender = threading.Thread(target=send, daemon=True)
            sender.start()
        else:
            try:
                sock.sendall(data)
            except OSError as error:
                answer.send_error = str(error)
        try:
            read_answer(sock, answer, method, body_limit=(rng.randint(1, 600) if mode == "close-mid-stream" else None), keep_max=keep_max)
        except socket.timeout:
            answer.error = "timeout: no complete answer within %.0f s" % timeout
        except ConnectionResetError:
            answer.error = "connection reset by the node"
        except OSError as error:
            answer.error = "socket error: %s" % error
        if mode == "close-mid-stream":
            abort(sock, rng)
        if sender:
            sender.join(1)
    except socket.timeout:
        answer.error = "timeout while sending"
    except OSError as error:
        answer.error = answer.error or "socket error: %s" % error
    finally:
        answer.elapsed = time.monotonic() - started
        try:
            sock.close()
        except OSError:
            pass
    return answer


def abort(sock, rng):
    """Closes sock, half the time with a reset (SO_LINGER 0) instead of a FIN."""
    if rng is not None and rng.random() < 0.5:
        import struct
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    sock.close()

# ---------------------------------------------------------------------------------------
# A hostile provider: an OpenAI- and Anthropic-dialect upstream on a loopback port whose
# answers are wrong in the ways a provider's can be (DESIGN.md section 9: provider answers
# are hostile too). The upstream model name picks the misbehaviour: evil-<kind>.

EVIL_KINDS = [
    "usage-huge", "usage-negative", "usage-float", "usage-types", "usage-overflow-sum", "not-json", "empty", "truncated",
    "huge-body", "deep", "wrong-shapes", "bad-utf8", "slow-head", "sse-for-whole", "status-500-html", "status-429-junk",
    "status-599", "status-204", "status-401", "giant-header", "sse-junk", "sse-no-done", "sse-huge-event", "sse-dribble",
    "sse-bytewise", "sse-usage-huge", "sse-crlf", "sse-nul", "sse-tool-junk", "close-at-once", "usage-max",
    "tool-input-scalar", "tool-args-junk",
]
# The largest token count an answer may report and still be believed (ReportedTokens.countMax).
BELIEVED_TOKENS_MAX = 100_000_000


def evil_openai_message(kind):
    usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    if kind == "usage-huge":
        usage = {"prompt_tokens": 2**63 - 1, "completion_tokens": 2**63 - 1, "total_tokens": 2**64}
    elif kind == "usage-negative":
        usage = {"prompt_tokens": -2**63, "completion_tokens": -1, "total_tokens": -5}
    elif kind == "usage-float":
        usage = {"prompt_tokens": Raw("1e308"), "completion_tokens": Raw("NaN"), "total_tokens": 1.5}
    elif kind == "usage-types":
        usage = {"prompt_tokens": "12", "completion_tokens": None, "total_tokens": [], "input_tokens": {}}
    elif kind == "usage-overflow-sum":
        usage = {"prompt_tokens": 2**62, "completion_tokens": 2**62 + 2**61, "total_tokens": 2**63 - 1}
    elif kind == "usage-max":
        # believable, and at the highest price each answer costs ~1e17 micro-USD: sums overflow after ~90
        usage = {"prompt_tokens": BELIEVED_TOKENS_MAX, "completion_tokens": BELIEVED_TOKENS_MAX, "total_tokens": 2 * BELIEVED_TOKENS_MAX}
    message = {"role": "assistant", "content": "evil " + FAMILY}
    if kind in ("tool-input-scalar", "tool-args-junk"):
        message["tool_calls"] = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "5"}},
                                 {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "null"}},
                                 {"id": None, "type": 5, "function": {"name": [], "arguments": {"a": 1}}},
                                 {"id": "c4", "function": "x"}, 9, None]
    return {"id": "evil", "object": "chat.completion", "model": "evil", "created": 0,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": usage}


def evil_anthropic_message(kind):
    usage = {"input_tokens": 3, "output_tokens": 5}
    if kind == "usage-huge":
        usage = {"input_tokens": 2**63 - 1, "output_tokens": 2**64}
    elif kind == "usage-negative":
        usage = {"input_tokens": -2**63, "output_tokens": -1}
    elif kind == "usage-float":
        usage = {"input_tokens": Raw("1e308"), "output_tokens": Raw("-Infinity")}
    elif kind == "usage-types":
        usage = {"input_tokens": "3", "output_tokens": None}
    elif kind == "usage-overflow-sum":
        usage = {"input_tokens": 2**62, "output_tokens": 2**62 + 2**61, "cache_read_input_tokens": 2**62}
    elif kind == "usage-max":
        usage = {"input_tokens": BELIEVED_TOKENS_MAX, "output_tokens": BELIEVED_TOKENS_MAX}
    content = [{"type": "text", "text": "evil " + FAMILY}, {"type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}]
    if kind == "tool-input-scalar":
        content += [{"type": "tool_use", "id": "t2", "name": "g", "input": 5}, {"type": "tool_use", "id": "t3", "name": "h", "input": None},
                    {"type": "tool_use", "id": "t4", "name": "i", "input": "str"}]
    if kind == "tool-args-junk":
        content += [{"type": "tool_use", "id": 5, "name": None, "input": []}, {"type": "text", "text": None}, {"type": None}, 7]
    return {"id": "msg_evil", "type": "message", "role": "assistant", "model": "evil", "stop_reason": "end_turn",
            "content": content, "usage": usage}


def evil_stream_events(kind, anthropic):
    """The SSE bytes of a hostile stream (a list of pieces, each sent on its own)."""
    if anthropic:
        usage_start = {"input_tokens": 2**63 - 1, "output_tokens": 2**64} if kind == "sse-usage-huge" else {"input_tokens": 3, "output_tokens": 1}
        usage_end = {"output_tokens": 2**63 - 1} if kind == "sse-usage-huge" else {"output_tokens": 5}
        events = [
            ("message_start", {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "model": "evil", "content": [], "usage": usage_start}}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "evil " + FAMILY}}),
        ]
        if kind == "sse-tool-junk":
            events += [
                ("content_block_start", {"type": "content_block_start", "index": 2**63 - 1, "content_block": {"type": "tool_use", "id": None, "name": 5, "input": []}}),
                ("content_block_delta", {"type": "content_block_delta", "index": -1, "delta": {"type": "input_json_delta", "partial_json": '{"a":'}}),
                ("content_block_delta", {"type": "content_block_delta", "index": Raw("1e308"), "delta": {"type": "weird_delta"}}),
                ("content_block_stop", {"type": "content_block_stop", "index": "x"}),
            ]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage_end}),
            ("message_stop", {"type": "message_stop"}),
        ]
        frames = ["event: %s\ndata: %s\n\n" % (name, dump(data)) for name, data in events]
    else:
        usage = {"prompt_tokens": 2**63 - 1, "completion_tokens": 2**63 - 1, "total_tokens": 2**64} if kind == "sse-usage-huge" else {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
        chunk = lambda delta, finish=None: {"id": "c", "object": "chat.completion.chunk", "model": "evil", "created": 0,
                                            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        frames = ["data: %s\n\n" % dump(chunk({"role": "assistant", "content": ""})), "data: %s\n\n" % dump(chunk({"content": "evil " + FAMILY}))]
        if kind == "sse-tool-junk":
            frames += ["data: %s\n\n" % dump(chunk({"tool_calls": [{"index": 2**63 - 1, "id": None, "function": {"name": 5, "arguments": '{"a":'}}]})),
                       "data: %s\n\n" % dump(chunk({"tool_calls": [{"index": -1, "function": {"arguments": []}}]})),
                       "data: %s\n\n" % dump({"choices": [{"index": Raw("1e308"), "delta": None}]}),
                       "data: %s\n\n" % dump({"choices": "x"})]
        frames += ["data: %s\n\n" % dump(chunk({}, "stop")), "data: %s\n\n" % dump({"id": "c", "choices": [], "usage": usage}), "data: [DONE]\n\n"]
    data = "".join(frames).encode("utf-8", "surrogatepass")
    if kind == "sse-junk":
        return [b": comment\n\n", b"data: {not json\n\n", b"event: \xff\xfe\ndata: \x00\n\n", b"data:\n\n", b"\n\n\n\n", b"retry: -1\n\n",
                b"data: " + b"[" * 10_000 + b"\n\n", b"id: " + b"9" * 400 + b"\n\n"] + [data]
    if kind == "sse-no-done":
        return [data.rsplit(b"data: [DONE]", 1)[0]] if not anthropic else [data[: len(data) // 2]]
    if kind == "sse-huge-event":
        return [data[:20], b"data: " + b"x" * (3 << 20), b"\n\n", data[20:]]
    if kind == "sse-dribble":
        # a 400 kB event without an end, in small pieces: the splitter must not rescan it each time
        return [b"data: "] + [b"y" * 1000] * 400 + [b"\n\n", data]
    if kind == "sse-bytewise":
        return [data[i:i + 1] for i in range(len(data))]
    if kind == "sse-crlf":
        return [data.replace(b"\n", b"\r\n")[:-7] + b"\r\r\n\n\r\n"]
    if kind == "sse-nul":
        return [data.replace(b"evil", b"e\x00v\xffil")]
    return [data]


class EvilUpstream:
    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.served = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        conn.settimeout(TIMEOUT)
        try:
            reader = Reader(conn)
            while True:   # keep-alive: the node's client pools connections
                head = reader.until(b"\r\n\r\n")
                if head is None:
                    return
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1].strip() or 0)
                body = reader.exactly(length) if length else b""
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                try:
                    request = json.loads(body or b"{}")
                except ValueError:
                    request = {}
                model = str(request.get("model", "")) if isinstance(request, dict) else ""
                kind = model[5:] if model.startswith("evil-") else "usage-huge"
                anthropic = "/messages" in request_line
                stream = isinstance(request, dict) and request.get("stream") is True
                self.served += 1
                if not self.answer(conn, kind, anthropic, stream, request_line):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def answer(self, conn, kind, anthropic, stream, request_line):
        """Writes the hostile answer; False when the connection is to be closed."""
        def send(status, body, content_type="application/json", extra=b"", length=None):
            head = b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
                status, content_type.encode(), len(body) if length is None else length, extra)
            conn.sendall(head + body)
        if "count_tokens" in request_line:
            send(200, encode({"input_tokens": 2**63 - 1 if kind.startswith("usage") else Raw("NaN")}))
            return True
        if kind == "close-at-once":
            return False
        if kind == "slow-head":
            time.sleep(3)
        if kind.startswith("sse-") or (stream and kind not in ("status-500-html", "status-429-junk", "status-599", "status-204", "status-401",
                                                               "not-json", "empty", "truncated", "giant-header", "huge-body")):
            pieces = evil_stream_events(kind if kind.startswith("sse-") else "sse-usage-huge" if kind == "usage-huge" else "plain", anthropic)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in pieces:
                if piece:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            if kind == "sse-no-done":
                return False   # and no last chunk either
            conn.sendall(b"0\r\n\r\n")
            return True
        message = evil_anthropic_message(kind) if anthropic else evil_openai_message(kind)
        if kind == "not-json":
            send(200, b"<html><body>Bad Gateway</body></html>", "text/html")
        elif kind == "empty":
            send(200, b"")
        elif kind == "truncated":
            send(200, encode(message)[:10], length=1000)
            return False
        elif kind == "huge-body":
            pad = b" " * (17 << 20)
            send(200, encode(message)[:-1] + b',"pad":"' + pad + b'"}')
        elif kind == "deep":
            send(200, b'{"choices":' + b"[" * 100_000 + b"]" * 100_000 + b',"content":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        elif kind == "wrong-shapes":
            send(200, encode({"choices": "x", "content": 5, "usage": [1, 2], "message": {"content": {"a": []}}, "type": None}))
        elif kind == "bad-utf8":
            send(200, encode(message).replace(b"evil", b"\xff\xfe\xed\xa0\x80"))
        elif kind == "sse-for-whole":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 20\r\n\r\ndata: [DONE]\n\ndata:\n\n")
        elif kind == "status-500-html":
            send(500, b"<html>internal error " + b"e" * 5000 + b"</html>", "text/html")
        elif kind == "status-429-junk":
            send(429, b'{"error":{"message":' + b'"' + b"\xff" * 10 + b'"}}', extra=b"Retry-After: -99999999999999999999\r\n")
        elif kind == "status-599":
            send(599, encode({"error": {"message": FAMILY * 60, "type": 5}}))
        elif kind == "status-204":
            conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif kind == "status-401":
            send(401, encode({"error": {"message": None}}))
        elif kind == "giant-header":
            send(200, encode(message), extra=b"X-Giant: " + b"g" * 200_000 + b"\r\n")
        else:
            send(200, encode(message))
        return True

    def close(self):
        try:
            self.listener.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------
# Cases.


class Case:
    def __init__(self, number, label, method, target, headers=(), body=None, mode="normal", raw=None, note="", oversize=False):
        self.number = number
        self.label = label          # the endpoint, for the counts: "POST /v1/chat/completions"
        self.method = method
        self.target = target
        self.headers = list(headers)
        self.body = body
        self.mode = mode
        self.raw = raw
        self.note = note
        self.oversize = oversize    # over the body limit: the node may answer 413 before reading it all
        self.protocol_junk = False  # not valid HTTP: the node may just close
        self.before = []            # (method, path, body) sent first (settings)
        self.after = []
        self.slowloris = 0


class Run:
    def __init__(self, args):
        self.args = args
        self.base = args.base.rstrip("/")
        self.token = args.token
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.counts = {}
        self.notes = {}
        self.operations = []
        self.fixture_tokens = []   # (secret, what)
        self.plausible = {}        # collection → ids seen in its list
        self.settings_baseline = None
        self.dead = False
        self.durations = []
        self.evil = None if args.no_evil_upstream else EvilUpstream()

    # -- plumbing --------------------------------------------------------------------------
    def auth(self):
        return [("Authorization", "Bearer " + self.token)]

    def call(self, method, path, body=None, headers=None, timeout=TIMEOUT):
        data = None if body is None else (body if isinstance(body, bytes) else encode(body))
        hs = (headers if headers is not None else self.auth()) + ([("Content-Type", "application/json")] if data is not None else [])
        return exchange(self.base, method, path, hs, data, timeout=timeout, keep_max=64 << 20)

    def live(self):
        for _ in range(3):
            answer = exchange(self.base, "GET", "/health/live", timeout=10)
            if answer.status == 200:
                return True
            time.sleep(0.5)
        return False

    def count(self, label, answer, case):
        key = answer.status if answer.status is not None else ("closed-by-client" if case.mode != "normal" and answer.error and "on purpose" in answer.error
                                                                else (answer.error or "?").split(":")[0])
        self.counts.setdefault(label, {}).setdefault(str(key), 0)
        self.counts[label][str(key)] += 1

    def note(self, what, case=None):
        count, first = self.notes.get(what, (0, None))
        self.notes[what] = (count + 1, first if first is not None else (case.number if case else None))

    # -- set-up ------------------------------------------------------------------------------
    def setup(self):
        """Hostile fixtures every case may use; the same on every run (ids are fixed)."""
        doc = self.call("GET", "/openapi.json").json() or {}
        for path, operations in sorted((doc.get("paths") or {}).items()):
            for method, operation in sorted(operations.items()):
                method = method.upper()
                if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    continue
                if excluded(method, path):
                    continue
                self.operations.append((method, path, operation))
        if not self.operations:
            self.fail_setup("GET /openapi.json listed no operations")
        for method, path, _ in self.operations:
            if method == "GET" and "{" not in path and not path.startswith("/admin/api/usage") and path.count("/") == 3:
                listing = self.call("GET", path + "?limit=500").json()
                if isinstance(listing, dict) and isinstance(listing.get("items"), list):
                    ids = [str(item.get("id")) for item in listing["items"] if isinstance(item, dict) and item.get("id") is not None]
                    self.plausible[path.split("/")[3]] = ids
        settings = self.call("GET", "/admin/api/settings").json()
        if isinstance(settings, dict):
            # every setting the POST takes, so a fuzzed write (ollama_enabled …) is undone whole
            settable = set()
            for method, path, operation in self.operations:
                if method == "POST" and path == "/admin/api/settings":
                    schema = ((operation.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema") or {}
                    settable = set((schema.get("properties") or {}).keys())
            self.settings_baseline = {k: v for k, v in settings.items() if k in settable} or None
            if self.settings_baseline:
                self.call("POST", "/admin/api/settings", self.settings_baseline)
        mock = None
        for credential in (self.call("GET", "/admin/api/credentials?limit=500").json() or {}).get("items", []):
            if credential.get("id") == "key:demo:mockllm":
                mock = credential.get("base_url")
        mock = mock or "http://127.0.0.1:9/v1"
        mock_root = mock[:-3] if mock.endswith("/v1") else mock
        steps = [
            ("/admin/api/dlp", {"id": "dlp:hostile-fix-redact", "name": "hostile redact", "action": "redact",
                                "patterns": [{"name": "BACKTRACK", "regex": "(a+)+$"}, {"name": "ANY", "regex": "[\\s\\S]{3}"},
                                             {"name": "EMOJI", "regex": FAMILY}]}),
            ("/admin/api/dlp", {"id": "dlp:hostile-fix-block", "name": "hostile block", "action": "block"}),
            ("/admin/api/orgs", {"id": "org:hostile-fix", "name": "Hostile " + FAMILY, "dlp": "dlp:hostile-fix-redact"}),
            ("/admin/api/apps", {"id": "app:hostile-fix", "display_name": "\u202ehostile", "dlp": "dlp:hostile-fix-block"}),
            ("/admin/api/users", {"id": "user:hostile-fix", "display_name": FAMILY * 3, "organization": "org:hostile-fix"}),
            ("/admin/api/users", {"id": "user:hostile-fix-plain", "display_name": "plain"}),
            ("/admin/api/users", {"id": "user:hostile-fix-quota", "display_name": "the fuzzed quotas' subject"}),
            ("/admin/api/principals", {"id": "agent:hostile-fix", "app": "app:hostile-fix", "groups": ["a,b,c"]}),
            ("/admin/api/principals", {"id": "agent:hostile-fix-org"}),
            ("/admin/api/profiles", {"id": "agent:hostile-fix-org", "models": {"normal": "gpt-4o-mini", "heavy": "hostile-claude", "max": "hostile-nowhere"}}),
            ("/admin/api/credentials", {"id": "key:anthropic:hostile-fix", "provider": "anthropic", "base_url": mock_root, "secret": "sk-ant-hostile"}),
            ("/admin/api/credentials", {"id": "key:openai-compatible:hostile-badurl", "provider": "openai-compatible", "base_url": "http://127.0.0.1:1/v1"}),
            ("/admin/api/credentials", {"id": "key:azure-openai:hostile-fix", "provider": "azure-openai", "base_url": mock_root, "secret": "azure-hostile",
                                        "extra_headers": {"api-version": "../../x?y=" + FAMILY}}),
            ("/admin/api/credentials", {"id": "key:ollama:hostile-fix", "provider": "ollama", "base_url": mock_root}),
            ("/admin/api/credentials", {"id": "key:openai-compatible:hostile-headers", "provider": "openai-compatible", "base_url": mock,
                                        "extra_headers": {"X-Odd": "v\u00e9" + FAMILY, "X-Long": "v" * 1000, "Content-Length": "99", "Host": "evil"}}),
            ("/admin/api/deployments", {"id": "hostile-fix-w1", "model": "hostile-weighted", "credential": "key:demo:mockllm", "weight": 1_000_000, "priority": -1_000_000}),
            ("/admin/api/deployments", {"id": "hostile-fix-w2", "model": "hostile-weighted", "credential": "key:demo:mockllm", "weight": 1_000_000, "priority": 1_000_000,
                                        "max_output_tokens": 2**63 - 1}),
            ("/admin/api/deployments", {"id": "hostile-fix-pricey", "model": "hostile-pricey", "credential": "key:demo:mockllm", "upstream_model": "gpt-4o-mini"}),
            ("/admin/api/deployments", {"id": "hostile-fix-tiny", "model": "hostile-tiny-price", "credential": "key:demo:mockllm", "max_output_tokens": 1}),
            ("/admin/api/deployments", {"id": "hostile-fix-claude", "model": "hostile-claude", "credential": "key:anthropic:hostile-fix", "upstream_model": "claude-haiku-4-5"}),
            ("/admin/api/deployments", {"id": "hostile-fix-badurl", "model": "hostile-badurl", "credential": "key:openai-compatible:hostile-badurl"}),
            ("/admin/api/deployments", {"id": "hostile-fix-azure", "model": "hostile-azure", "credential": "key:azure-openai:hostile-fix", "upstream_model": "dep-" + FAMILY}),
            ("/admin/api/deployments", {"id": "hostile-fix-ollama", "model": "hostile-ollama", "credential": "key:ollama:hostile-fix", "upstream_model": "gemma3"}),
            ("/admin/api/deployments", {"id": "hostile-fix-headers", "model": "hostile-headers", "credential": "key:openai-compatible:hostile-headers"}),
            ("/admin/api/deployments", {"id": "hostile-fix-unpriced", "model": "hostile-unpriced", "credential": "key:demo:mockllm"}),
            ("/admin/api/deployments", {"id": "hostile-fix-slashed", "model": "hostile/slashed:model", "credential": "key:demo:mockllm"}),
            # mockllm answers these upstream models with the faults installed below
            ("/admin/api/deployments", {"id": "hostile-fix-up-500", "model": "hostile-up-500", "credential": "key:demo:mockllm"}),
            ("/admin/api/deployments", {"id": "hostile-fix-up-429", "model": "hostile-up-429", "credential": "key:demo:mockllm"}),
            ("/admin/api/deployments", {"id": "hostile-fix-up-drop", "model": "hostile-up-drop", "credential": "key:demo:mockllm"}),
            ("/admin/api/deployments", {"id": "hostile-fix-fallback", "model": "hostile-fallback", "credential": "key:demo:mockllm", "upstream_model": "hostile-up-500"}),
            ("/admin/api/fallbacks", {"primary_model": "hostile-fallback", "chain": ["hostile-up-drop", "hostile-up-429", "hostile-pricey", "hostile-claude", "gpt-4o-mini"]}),
            ("/admin/api/aliases", {"requested_model": "hostile-alias", "routed_to": "hostile-claude"}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-weighted", "per_1k": 1e6}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-pricey", "input_per_1k": 999999.999999, "output_per_1k": 1e6, "cached_input_per_1k": 0}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-tiny-price", "per_1k": 1e-12}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-claude", "per_1k": 0.003}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-badurl", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-up-500", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-up-429", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-up-drop", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-fallback", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-azure", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-ollama", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile-headers", "per_1k": 0.001}),
            ("/admin/api/pricing", {"scope": "model", "subject": "hostile/slashed:model", "per_1k": 0.001}),
        ]
        if self.evil:
            evil_openai = "key:openai-compatible:hostile-evil"
            evil_anthropic = "key:anthropic:hostile-evil"
            steps += [
                ("/admin/api/credentials", {"id": evil_openai, "provider": "openai-compatible", "base_url": "http://127.0.0.1:%d/v1" % self.evil.port}),
                ("/admin/api/credentials", {"id": evil_anthropic, "provider": "anthropic", "base_url": "http://127.0.0.1:%d" % self.evil.port, "secret": "sk-evil"}),
                # the highest price there is, so huge reported usage meets the largest factors
                ("/admin/api/pricing", {"scope": "key", "subject": evil_openai, "per_1k": 1e6}),
                ("/admin/api/pricing", {"scope": "key", "subject": evil_anthropic, "input_per_1k": 1e6, "output_per_1k": 0.5}),
            ]
            for kind in EVIL_KINDS:
                steps.append(("/admin/api/deployments", {"id": "hostile-fix-evil-" + kind, "model": "hostile-evil-" + kind,
                                                         "credential": evil_openai, "upstream_model": "evil-" + kind}))
                steps.append(("/admin/api/deployments", {"id": "hostile-fix-evila-" + kind, "model": "hostile-evil-a-" + kind,
                                                         "credential": evil_anthropic, "upstream_model": "evil-" + kind}))
        for path, body in steps:
            answer = self.call("POST", path, body)
            self.check_setup("POST " + path, body, answer)
        # Faults of mockllm for the hostile-up-* models (its control API, beside its /v1).
        faults = [{"kind": "status", "status": 500, "model": "hostile-up-500"}, {"kind": "status", "status": 429, "model": "hostile-up-429"},
                  {"kind": "drop", "model": "hostile-up-drop"}]
        installed = exchange(mock_root, "GET", "/_mock/faults", timeout=5)
        present = installed.json() if installed.status == 200 else None
        if isinstance(present, list):
            for fault in faults:
                if not any(isinstance(f, dict) and f.get("model") == fault["model"] and f.get("kind") == fault["kind"] for f in present):
                    exchange(mock_root, "POST", "/_mock/faults", [("Content-Type", "application/json")], encode(fault), timeout=5)
        else:
            print("hostile: warning: no mockllm control API at %s/_mock/faults; the hostile-up-* models answer normally" % mock_root, flush=True)
        tokens = [
            ("agent in a DLP-block app", {"principal": "agent:hostile-fix", "user": "user:hostile-fix", "app": "app:hostile-fix",
                                          "scopes": ["model.invoke", "dlp.bypass"], "name": "hostile " + FAMILY}),
            ("user in a DLP-redact org", {"principal": "agent:hostile-fix-org", "user": "user:hostile-fix", "name": "hostile org"}),
            ("restricted to two models", {"principal": "agent:hostile-fix-org", "user": "user:hostile-fix-plain",
                                          "models": ["gpt-4o-mini", "hostile-alias"], "cache_opt_out": True}),
            ("expires in 2 s", {"principal": "agent:hostile-fix-org", "expires_in_seconds": 2}),
            ("capped by tiny quotas", {"principal": "agent:hostile-fix-org", "user": "user:hostile-fix-plain", "name": "capped"}),
            # the one fixture fuzzed admin writes change: quotas of any shape on its user
            ("under fuzzed quotas", {"principal": "agent:hostile-fix-org", "user": "user:hostile-fix-quota", "name": "fuzzed"}),
        ]
        for what, body in tokens:
            answer = self.call("POST", "/admin/api/tokens", body)
            self.check_setup("POST /admin/api/tokens", body, answer)
            issued = answer.json() or {}
            if isinstance(issued, dict) and issued.get("secret"):
                self.fixture_tokens.append((issued["secret"], what, (issued.get("token") or {}).get("id")))
        capped = [t for t in self.fixture_tokens if t[1] == "capped by tiny quotas"]
        quotas = []
        if capped and capped[0][2]:
            quotas = [
                {"lane": "token", "subject": capped[0][2], "name": "hostile-fix-requests", "period": "10s", "max_requests": 3},
                {"lane": "token", "subject": capped[0][2], "name": "hostile-fix-usd", "period": "infinite", "max_usd": 1e-6},
            ]
        quotas += [
            {"lane": "user", "subject": "user:hostile-fix", "name": "hostile-fix-tokens", "period": "minute", "max_tokens": 9_200_000_000_000_000},
            {"lane": "user", "subject": "user:hostile-fix", "name": "hostile-fix-usd", "period": "month", "max_usd": 9e9},
            {"lane": "org", "subject": "org:hostile-fix", "name": "hostile-fix-week", "period": "week", "max_requests": 9_200_000_000_000_000, "rollover": True},
            {"lane": "key", "subject": "key:anthropic:hostile-fix", "name": "hostile-fix-day", "period": "day", "max_tokens": 10**12},
        ]
        for body in quotas:
            self.check_setup("POST /admin/api/quotas", body, self.call("POST", "/admin/api/quotas", body))
        print("hostile: set-up: %d operations, %d fixture tokens" % (len(self.operations), len(self.fixture_tokens)), flush=True)

    def check_setup(self, what, body, answer):
        if answer.status is None or answer.status >= 500:
            self.record_failure(None, "set-up %s: %s" % (what, answer.error or answer.status), what, body=encode(body), answer=answer)
        elif answer.status >= 400:
            print("hostile: set-up %s refused %s: %s" % (what, answer.status, answer.body[:200]), flush=True)

    def fail_setup(self, message):
        print("hostile: FAIL set-up: " + message, flush=True)
        print("hostile: 0 passed, 1 failed", flush=True)
        sys.exit(1)

    # -- case generation ------------------------------------------------------------------------
    def make_case(self, seed, number):
        rng = random.Random("%s:%d" % (seed, number))
        r = rng.random()
        if r < 0.50:
            return self.data_case(rng, number, stream=False)
        if r < 0.62:
            return self.data_case(rng, number, stream=True)
        if r < 0.86:
            return self.admin_case(rng, number)
        if r < 0.93:
            return self.disconnect_case(rng, number)
        if r < 0.965:
            return self.protocol_case(rng, number)
        if r < 0.99:
            return self.misc_case(rng, number)
        return self.slowloris_case(rng, number)

    def data_headers(self, rng, anthropic):
        headers = []
        r = rng.random()
        if r < 0.75:
            headers.append(("x-api-key", self.token) if anthropic and rng.random() < 0.5 else ("Authorization", "Bearer " + self.token))
        elif r < 0.88 and self.fixture_tokens:
            secret = self.fixture_tokens[rng.randrange(len(self.fixture_tokens))][0]
            headers.append(("Authorization", "Bearer " + secret))
        else:
            headers.append(rng.choice([
                ("Authorization", "Bearer"), ("Authorization", "Bearer "), ("Authorization", "Basic dXNlcjpwYXNz"),
                ("Authorization", "Bearer " + "a" * 16_000), ("Authorization", "Bearer weir_" + "\u00e9" * 40),
                ("Authorization", "bearer " + self.token), ("x-api-key", ""), ("Authorization", "Bearer " + self.token + " extra"),
                ("Authorization", "Bearer " + self.token[:-1]), ("X-Nothing", "1"),
            ]))
            if rng.random() < 0.3:
                headers.append(("x-api-key", self.token))
        if rng.random() < 0.75:
            headers.append(("Content-Type", "application/json"))
        else:
            headers.append(("Content-Type", rng.choice(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                                         "application/json; charset=latin1", "application/xml", "", "*/*",
                                                         "application/json, text/plain", "application/json" + "; a=b" * 500])))
        for _ in range(rng.choice([0, 0, 1, 2])):
            headers.append(rng.choice([
                ("x-weir-cost-mode", rng.choice(["normal", "heavy", "max", "MAX", "", "ultra", FAMILY, "a" * 5000])),
                ("x-weir-dlp-bypass", rng.choice(["audit " + FAMILY, "", "x" * 5000, "r\u202e"])),
                ("Cache-Control", rng.choice(["no-cache", "no-store", "max-age=-1", "no-cache" * 1000])),
                ("anthropic-version", rng.choice(["2023-06-01", "", "\u0000", "9999-99-99", "x" * 3000])),
                ("anthropic-beta", "tools-2024-04-04," * 50),
                ("User-Agent", rng.choice(["", FAMILY * 200, "u" * 8000])),
                ("Accept", "text/event-stream"),
                ("Accept-Encoding", "gzip, br, zstd"),
                ("Expect", "100-continue"),
                ("X-Forwarded-For", ", ".join(["10.0.0.%d" % i for i in range(200)])),
            ]))
        return headers

    def data_case(self, rng, number, stream):
        endpoint = rng.choice(["chat", "chat", "chat", "embeddings", "messages", "messages", "count_tokens", "models"] if not stream
                              else ["chat", "chat", "messages"])
        r = rng.random()
        if r < 0.12 and self.evil:
            model = "hostile-evil-" + ("a-" if rng.random() < 0.5 else "") + rng.choice(EVIL_KINDS)
        elif r < 0.25:
            model = rng.choice(HOSTILE_MODELS)
        elif r < 0.35 and endpoint != "embeddings":
            # a provider of the other dialect: every request is translated (Anthropic for chat,
            # OpenAI-compatible for messages), and hostile-claude is Anthropic to both
            model = rng.choice(["hostile-claude", "gpt-4o-mini"])
        else:
            model = ("text-embedding-3-small" if endpoint == "embeddings" and rng.random() < 0.7
                                                             else rng.choice(["gpt-4o-mini", "gpt-4o-mini", "claude-haiku-4-5", "gpt-4o", "claude-sonnet-4-5"]))
        anthropic = endpoint in ("messages", "count_tokens")
        headers = self.data_headers(rng, anthropic)
        if endpoint == "models":
            target = "/v1/models" + rng.choice(["", "", "?limit=-1", "?" + "a=b&" * 2000, "/gpt-4o-mini", "?after=%00"])
            method = rng.choice(["GET", "GET", "GET", "HEAD", "POST", "DELETE"])
            return Case(number, "%s /v1/models" % method, method, target, headers, None if method != "POST" else b"{}")
        if endpoint == "chat":
            base, fields, path = chat_body(rng, model, stream), CHAT_FIELDS, "/v1/chat/completions"
        elif endpoint == "embeddings":
            base, fields, path = embeddings_body(rng, model), EMBED_FIELDS, "/v1/embeddings"
        elif endpoint == "messages":
            base, fields, path = messages_body(rng, model, stream), MESSAGES_FIELDS, "/v1/messages"
        else:
            base, fields, path = count_tokens_body(rng, model), COUNT_FIELDS, "/v1/messages/count_tokens"
        note = ""
        r = rng.random()
        if r < 0.12:
            body_value = base                                      # as it is: must simply work
            note = "unmutated"
        else:
            body_value = mutate_fields(rng, base, fields, anthropic, stream)
        data = encode(body_value, ascii_only=rng.random() < 0.7)
        if 0.12 <= r < 0.12 + 0.25:
            data, label = mutate_bytes(rng, data)
            note = label
        label = ("POST %s%s" % (path, " stream" if stream else ""))
        case = Case(number, label, "POST", path + rng.choice(["", "", "", "", "?stream=true", "?x=" + "%ff" * 10, "/", "?"]), headers, data,
                    note=note, oversize=len(data) > DATA_BODY_MAX)
        if rng.random() < 0.08 and self.settings_baseline:
            # some cases run under other gateway settings (restored afterwards)
            changed = dict(self.settings_baseline)
            changed[rng.choice(["routing_strategy", "unpriced_models", "cache_ttl_seconds"])] = None
            if changed.get("routing_strategy") is None:
                changed["routing_strategy"] = rng.choice(["weighted", "round-robin", "lowest-latency", "lowest-cost", "least-busy"])
            if changed.get("unpriced_models") is None:
                changed["unpriced_models"] = "allow-and-flag"
            if changed.get("cache_ttl_seconds") is None:
                changed["cache_ttl_seconds"] = rng.choice([0, 1, 86400])
            case.before.append(("POST", "/admin/api/settings", changed))
            case.after.append(("POST", "/admin/api/settings", self.settings_baseline))
        return case

    def junk_id(self, rng, collection, for_read):
        ids = self.plausible.get(collection, [])
        r = rng.random()
        if for_read and ids and r < 0.35:
            return q(rng.choice(ids), safe=":")
        if r < 0.5:
            prefix = {"users": "user:", "orgs": "org:", "apps": "app:", "principals": "agent:", "credentials": "key:openai:", "dlp": "dlp:",
                      "profiles": "role:", "tokens": "tok_"}.get(collection, "")
            return q(prefix + "hostile-tmp-%d" % rng.randrange(5), safe=":")
        return rng.choice([
            "%00", "%ff%fe", "%", "%zz", "..%2f..%2fetc%2fpasswd", "a/b/c", "a%2Fb", q(FAMILY * 60),
            "x" * 10_000, q("\u202e" * 20), "%E2%80%AE", "9223372036854775807", "-1", "tok_" + "0" * 16,
            "tok_ffffffffffffffff", ".", "..", "%20", "+", "a;b", "a?b=c", q(strange_string(rng)[:200]),
            "user:" + "a" * 300, "key:demo:mockllm%00", q("\ud800"),
        ])

    def query_value(self, rng, name, schema):
        name = name.lower()
        if name == "limit":
            return rng.choice(["-1", "0", "1", "500", "501", str(2**63 - 1), str(-2**63), str(2**64), "1e3", "1.5", "abc", "", "%00",
                               "0x10", " 5", "5 ", "+5", "１０", "99999999999999999999999"])
        if name == "cursor":
            return rng.choice(["9223372036854775807.1.1", "-9223372036854775808.0.0", "0.0.0", "...", "1", "%00", "a.b.c",
                               "9223372036854775808.1.1", "-1.-1.-1", "1.1.1.1.1", q(FAMILY), "x" * 10_000,
                               "eyJhIjoxfQ==", "1." * 5000, "18446744073709551615.18446744073709551615.1", ""])
        if name in ("from", "to", "since", "until"):
            return rng.choice([str(2**63 - 1), str(-2**63), str(2**64), "-1", "0", "1e18", "1.5", "now", "", "9" * 40,
                               str(int(time.time() * 1000)), str(-(2**63) + 1), str(2**63 - 2)])
        if name == "period":
            return rng.choice(["1h", "24h", "7d", "30d", "90d", "0h", "-1h", "999999999999d", "1y", "", "%00", "h", "9223372036854775807h",
                               "1.5h", FAMILY, "week", "10s"])
        if name == "days":
            return rng.choice(["0", "-1", "1", "90", "91", str(2**63 - 1), str(-2**63), str(2**64), "abc", "1.5", "7"])
        if name in ("consistent", "active", "enabled", "replace"):
            return rng.choice(["true", "false", "TRUE", "1", "yes", "", "%00"])
        if schema and schema.get("enum"):
            return rng.choice(schema["enum"] + ["", "nope", FAMILY])
        return rng.choice(["", "x", q(FAMILY * 60), "%00", "user:hostile-fix", "a" * 5000, "%ff", "*", "tok_", "human:admin",
                           q(strange_string(rng)[:300])])

    def sample(self, rng, schema, depth=0, key=""):
        """A plausible value for an OpenAPI schema (hostile-tmp ids, never a real id)."""
        schema = schema or {}
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            out = {}
            required = set(schema.get("required", []))
            for name, child in (schema.get("properties") or {}).items():
                if name in required or rng.random() < 0.6:
                    out[name] = self.sample(rng, child, depth + 1, name)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and rng.random() < 0.5:
                out["X-Hostile"] = self.sample(rng, extra, depth + 1)
            return out
        if kind == "array":
            return [self.sample(rng, schema.get("items"), depth + 1, key) for _ in range(rng.randint(0, 3))]
        if kind == "integer":
            return rng.choice([0, 1, 10, 1000, 60])
        if kind == "number":
            return rng.choice([0, 0.5, 1.25, 10])
        if kind == "boolean":
            return rng.random() < 0.5
        # strings by their field name
        n = rng.randrange(5)
        prefixes = {"id": None, "user": "user:", "owner": "user:", "organization": "org:", "org": "org:", "app": "app:", "dlp": "dlp:",
                    "principal": "agent:", "credential": "key:openai:", "role": "role:", "namespace": "tenant:"}
        if key == "credential":
            return rng.choice(["key:demo:mockllm", "key:openai-compatible:hostile-badurl", "key:openai:hostile-tmp-%d" % n])
        if key in ("model", "primary_model", "requested_model"):
            # only tmp names: a fuzzed write must not reroute the real models or the fixtures
            return rng.choice(["hostile-tmp-%d" % n, "hostile-tmp-" + FAMILY, "hostile-tmp-%d/x:y" % n])
        if key == "routed_to":
            return rng.choice(HOSTILE_MODELS + REAL_MODELS + ["hostile-tmp-%d" % n])
        if key == "subject":
            if rng.random() < 0.4:
                return "user:hostile-fix-quota"
            return rng.choice(["hostile-tmp-%d" % n, "user:hostile-tmp-%d" % n, "org:hostile-tmp-%d" % n, "app:hostile-tmp-%d" % n,
                               "key:openai:hostile-tmp-%d" % n, "agent:hostile-tmp-%d" % n, "openai-compatible:hostile-tmp-%d" % n])
        if key == "base_url" or key == "ollama_base_url":
            return rng.choice(["http://127.0.0.1:1/v1", "http://[::1", "file:///etc/passwd", "http://x:99999/v1", "https://" + "a" * 300 + ".example",
                               "http://127.0.0.1:1/" + FAMILY, "", "ftp://x", "http://user:pass@127.0.0.1:1"])
        if key == "regex":
            return rng.choice(["(a+)+$", "[", "(?<x>", "\\", "a{99999999}", ".*" * 50, FAMILY, "(?i)secret", "\\p{L}+", "(?=a)*"])
        if key in prefixes and prefixes[key]:
            return prefixes[key] + "hostile-tmp-%d" % n
        if key == "id":
            return None  # filled in by the caller, per collection
        return rng.choice(["hostile", "x", FAMILY, "a b"])

    def admin_case(self, rng, number):
        method, path, operation = rng.choice(self.operations)
        collection = path.split("/")[3] if path.count("/") >= 3 else ""
        target = path
        for name in re.findall(r"\{(\w+)\}", path):
            target = target.replace("{%s}" % name, self.junk_id(rng, collection, method == "GET"))
        # query string
        params = []
        for parameter in operation.get("parameters") or []:
            if parameter.get("in") == "query" and rng.random() < 0.5:
                params.append((parameter["name"], self.query_value(rng, parameter["name"], parameter.get("schema"))))
        if rng.random() < 0.15:
            params.append(rng.choice([("limit", "1"), ("cursor", "1.1.1"), ("junk", "1"), ("", ""), ("a" * 3000, "b"), ("%00", "%00")]))
        if rng.random() < 0.1 and params:
            params.append(params[0])   # the same name twice
        if params:
            target += "?" + "&".join(("%s=%s" % (k, v)) if rng.random() < 0.95 else k for k, v in params)
        headers = self.auth() if rng.random() < 0.9 else [rng.choice([("Authorization", "Bearer nope"), ("X-Nothing", "1"),
                                                                     ("Authorization", "Bearer " + self.fixture_tokens[0][0]) if self.fixture_tokens else ("X", "1")])]
        body = None
        note = ""
        content = (operation.get("requestBody") or {}).get("content") or {}
        if method in ("POST", "PUT", "PATCH"):
            if "application/yaml" in content:
                data, note = self.yaml_body(rng)
                headers.append(("Content-Type", rng.choice(["application/yaml", "application/json", "text/plain"])))
                body = data
            else:
                schema = (content.get("application/json") or {}).get("schema")
                value = self.sample(rng, schema) if schema else {}
                if isinstance(value, dict) and "id" in value or (schema and "id" in (schema.get("properties") or {})):
                    if not isinstance(value, dict):
                        value = {}
                    value["id"] = self.new_id(rng, collection)
                r = rng.random()
                if r < 0.15:
                    note = "sampled"
                elif r < 0.30 and isinstance(value, dict):
                    value, note = typed_extremes(rng, value, schema), "typed extremes"
                elif isinstance(value, dict):
                    fields = list(((schema or {}).get("properties") or {}).keys()) or ["x"]
                    value = mutate_fields(rng, value, fields, False, False, models=["hostile-tmp-%d" % rng.randrange(5), "", FAMILY * 60])
                data = encode(value, ascii_only=rng.random() < 0.7)
                if 0.30 <= r < 0.45:
                    data, note = mutate_bytes(rng, data)
                elif rng.random() < 0.03:
                    data = data[:-1] + b',"pad":"' + b"p" * (ADMIN_BODY_MAX + 10) + b'"}'
                    note = "over 256 KiB"
                headers.append(("Content-Type", "application/json" if rng.random() < 0.9 else rng.choice(["text/plain", "", "application/yaml"])))
                body = data
        elif method in ("GET", "DELETE") and rng.random() < 0.05:
            body = rng.choice([b"{}", b"junk", b"\x00" * 100])
        case = Case(number, "%s %s" % (method, path), method, target, headers, body, note=note,
                    oversize=body is not None and len(body) > ADMIN_BODY_MAX)
        if path == "/admin/api/settings" and method == "POST" and self.settings_baseline:
            case.after.append(("POST", "/admin/api/settings", self.settings_baseline))
        return case

    def new_id(self, rng, collection):
        prefix = {"users": "user:", "orgs": "org:", "apps": "app:", "principals": rng.choice(["agent:", "service:", "human:"]), "dlp": "dlp:",
                  "profiles": rng.choice(["role:", "agent:"]), "credentials": rng.choice(["key:openai:", "key:anthropic:", "key:ollama:", "key:azure-openai:", "key:"])}.get(collection, "")
        r = rng.random()
        if r < 0.8:
            return prefix + "hostile-tmp-%d" % rng.randrange(5)
        return prefix + rng.choice(["hostile-tmp-" + FAMILY * 60, "hostile-tmp-\u0000", "hostile-tmp-" + "a" * 5000, "hostile-tmp-\u202e",
                                    "hostile-tmp-\ud800", "hostile-tmp-/slash", "hostile-tmp-%00", "hostile-tmp- "])

    def yaml_body(self, rng):
        pick = rng.randrange(9)
        if pick == 0:   # billion laughs, kept small
            levels = rng.randint(3, 6)
            lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
            for i in range(1, levels + 1):
                lines.append("a%d: &a%d [%s]" % (i, i, ",".join(["*a%d" % (i - 1)] * 10)))
            return ("\n".join(lines) + "\n").encode(), "yaml alias bomb x%d" % levels
        if pick == 1:
            n = rng.choice([100, 10_000, 100_000])
            return ("profiles: " + "[" * n + "]" * n + "\n").encode(), "yaml deep %d" % n
        if pick == 2:
            return b"profiles:\n  - id: role:hostile-tmp-1\n    models: {normal: gpt-4o-mini, heavy: " + str(2**64).encode() + b"}\n", "yaml big int"
        if pick == 3:
            return b"!!python/object/apply:os.system ['true']\n", "yaml tag"
        if pick == 4:
            return b"\t- :\n  - [\n", "yaml broken"
        if pick == 5:
            return b"", "empty"
        if pick == 6:
            return ("- id: role:hostile-tmp-%d\n  name: %s\n  models:\n    normal: %s\n" % (rng.randrange(5), json.dumps(FAMILY * 60), "hostile-claude")).encode(), "yaml list"
        if pick == 7:
            return b"{\"profiles\": [{\"id\": \"role:hostile-tmp-2\", \"models\": {\"max\": \"gpt-4o\"}}]}", "yaml as json"
        return ("key: " + "\u0000\ufffe" + FAMILY * 100 + "\n").encode("utf-8", "surrogatepass"), "yaml strange"

    def disconnect_case(self, rng, number):
        stream = rng.random() < 0.5
        model = rng.choice(["gpt-4o-mini", "claude-haiku-4-5", "hostile-claude", "hostile-weighted", "hostile-pricey"])
        path = rng.choice(["/v1/chat/completions", "/v1/messages"])
        anthropic = path == "/v1/messages"
        body = messages_body(rng, model, stream) if anthropic else chat_body(rng, model, stream)
        if rng.random() < 0.3:
            body["messages"][0]["content"] = "x" * rng.choice([1000, 200_000])
        headers = [("Authorization", "Bearer " + (self.token if rng.random() < 0.8 or not self.fixture_tokens
                                                  else self.fixture_tokens[rng.randrange(len(self.fixture_tokens))][0])),
                   ("Content-Type", "application/json")]
        phases = ["close-before-body", "close-mid-body", "close-after-request"] + (["close-mid-stream"] * 3 if stream else [])
        mode = rng.choice(phases)
        return Case(number, "%s %s (client closes)" % ("POST", path), "POST", path, headers, encode(body), mode=mode, note=mode)

    def protocol_case(self, rng, number):
        host = "%s:%d" % split_base(self.base)
        auth = "Authorization: Bearer %s\r\n" % self.token
        body = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
        picks = [
            ("bad request line", b"GARBAGE\r\n\r\n"),
            ("HTTP/0.9", b"GET /health/live\r\n\r\n"),
            ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("unknown version", b"GET /health/live HTTP/7.1\r\nHost: x\r\n\r\n"),
            ("huge header", ("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % ("a" * rng.choice([9000, 100_000, 1_000_000]))).encode()),
            ("many headers", ("GET /v1/models HTTP/1.1\r\nHost: x\r\n%s%s\r\n" % (auth, "".join("X-%d: y\r\n" % i for i in range(rng.choice([500, 20_000]))))).encode()),
            ("huge target", ("GET /v1/models?%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % ("a" * rng.choice([9000, 200_000]), auth)).encode()),
            ("negative length", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sContent-Length: -5\r\n\r\n" % auth).encode() + body),
            ("length 2**64", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sContent-Length: 18446744073709551616\r\n\r\n" % auth).encode() + body),
            ("two lengths", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sContent-Length: 3\r\nContent-Length: %d\r\n\r\n" % (auth, len(body))).encode() + body),
            ("length and chunked", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" % auth).encode()
             + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"),
            ("bad chunk size", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" % auth).encode() + b"fffffffffffffffffff\r\nx\r\n"),
            ("chunked body", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" % auth).encode()
             + b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body))) + b"0\r\n\r\n"),
            ("chunk extension junk", ("POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n" % auth).encode() + b"5;" + b"e" * 10000 + b"\r\nhello\r\n0\r\n\r\n"),
            ("shorter length, pipelined rest", ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n%sContent-Length: 10\r\n\r\n" % auth).encode() + body),
            ("pipelined", b"".join(("GET /health/live HTTP/1.1\r\nHost: %s\r\n\r\n" % host).encode() for _ in range(rng.choice([2, 50])))),
            ("header without colon", b"GET /health/live HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"),
            ("NUL in header", b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"),
            ("obs-fold", b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
            ("bare LF", b"GET /health/live HTTP/1.1\nHost: x\n\n"),
            ("absolute form", b"GET http://evil.example/health/live HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("asterisk", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("CONNECT", b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("strange method", b"BREW /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
            ("upgrade", b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"),
            ("h2c upgrade", b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
            ("no host", b"GET /health/live HTTP/1.1\r\n\r\n"),
            ("percent junk target", b"GET /%%%ff/../..%00/admin/api/users HTTP/1.1\r\nHost: x\r\n" + auth.encode() + b"\r\n"),
            ("utf-8 target", ("GET /admin/api/users/%s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (FAMILY, auth)).encode()),
            ("random bytes", bytes(rng.randrange(256) for _ in range(rng.choice([10, 1000, 70_000])))),
        ]
        name, raw = rng.choice(picks)
        case = Case(number, "HTTP junk", "CONNECT" if name == "CONNECT" else "-", name, raw=raw, note=name)
        case.protocol_junk = True
        return case

    def misc_case(self, rng, number):
        method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
        path = rng.choice(["/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs", "/admin", "/admin/", "/admin/login",
                           "/admin/users", "/admin/api", "/admin/api/", "/admin/api/nope", "/cluster/v1/status", "/cluster/v1/join",
                           "/cluster/v1/remove", "/cluster/v1/canary", "/cluster/v1/canaries/18446744073709551616", "/cluster/v1/canaries/-1",
                           "/cluster/v1/canaries/9223372036854775807", "/v1", "/v1/", "/v2/chat/completions", "/", "//", "/%2e%2e/",
                           "/v1/chat/completions/../../metrics", "/admin/api/users/" + "%2F" * 500, "/favicon.ico",
                           "/admin/api/usage/export.csv?from=%d&to=%d" % (-2**63, 2**63 - 1), "/_mock/faults"])
        headers = []
        if rng.random() < 0.6:
            headers += self.auth()
        if path.startswith("/cluster/v1"):
            headers.append(("X-Weir-Cluster-Signature", rng.choice(["", "t=1,s=00", "t=9223372036854775807,s=" + "f" * 64, "t=-1,s=zz", "junk" * 500])))
        body = None
        if method in ("POST", "PUT", "PATCH"):
            body = rng.choice([b"{}", b'{"node_id":18446744073709551616,"peer_address":"tcp://127.0.0.1:1"}', b"junk", b"", b'{"node_id":-1}',
                               b"username=admin&password=" + b"x" * 1000])
            headers.append(("Content-Type", rng.choice(["application/json", "application/x-www-form-urlencoded"])))
        return Case(number, "%s %s" % (method, path.split("?")[0][:60]), method, path, headers, body)

    def slowloris_case(self, rng, number):
        case = Case(number, "slowloris", "GET", "/health/live", note="slowloris")
        case.slowloris = rng.randint(1, 8)
        return case

    # -- running and checking ---------------------------------------------------------------
    def run_case(self, case):
        for method, path, body in case.before:
            self.call(method, path, body)
        try:
            if case.slowloris:
                return self.run_slowloris(case), None
            answer = exchange(self.base, case.method, case.target, case.headers, case.body, mode=case.mode,
                              rng=random.Random("%s:%d:io" % (self.args.seed, case.number)), raw=case.raw)
            self.count(case.label, answer, case)
            return self.judge(case, answer), answer
        finally:
            for method, path, body in case.after:
                self.call(method, path, body)

    def judge(self, case, answer):
        """None when the answer is acceptable, else why not."""
        if case.mode in ("close-before-body", "close-mid-body", "close-after-request"):
            return None
        status = answer.status
        if status is None:
            if case.protocol_junk and answer.error and ("closed" in answer.error or "reset" in answer.error):
                self.note("HTTP junk answered by closing the connection", case)
                return None
            if case.oversize and answer.send_error:
                self.note("an oversize body reset the connection before an answer could be read", case)
                return None
            return "no answer: %s%s" % (answer.error, " (send: %s)" % answer.send_error if answer.send_error else "")
        relayed = answer.header("x-weir-model") or b"refused" in answer.body[:300]
        if relayed and status >= 500 and status not in (502, 503, 504) and os.environ.get("WEIR_HOSTILE_ALLOW_RELAYED_5XX") == "1":
            self.note("a provider's %d passed on as the node's own (allowed by WEIR_HOSTILE_ALLOW_RELAYED_5XX=1)" % status, case)
            return None
        if status == 500:
            if relayed:
                return "status 500 (the provider's 500 passed on as the node's own; a gateway answers 502 for upstream trouble)"
            return "status 500"
        if status >= 500 and status not in (502, 503, 504):
            if relayed:
                return "status %d (the provider's status passed on as the node's own)" % status
            return "status %d (a 5xx of the node's own making)" % status
        if status in (502, 503, 504):
            body = answer.json()
            if not (isinstance(body, dict) and "error" in body):
                if case.mode == "close-mid-stream" and not answer.complete:
                    return None
                return "status %d without a JSON error body" % status
            if status == 503 and not answer.header("retry-after"):
                self.note("503 without Retry-After", case)
        if case.mode == "close-mid-stream":
            return None
        if answer.error and status is not None:
            if case.protocol_junk and ("closed" in answer.error or "reset" in answer.error or "cut" in answer.error):
                return None
            if case.oversize and answer.send_error:
                return None
            model = answer.header("x-weir-model") or ""
            if "cut" in answer.error and any(k in model for k in ("hostile-up-drop", "sse-no-done", "truncated", "close-at-once")):
                self.note("a stream cut short after its upstream (%s) broke off" % model, case)
                return None
            return "answer %d broken off: %s" % (status, answer.error)
        if 400 <= status < 500 and case.label.split(" ")[1:2] and (case.target.startswith("/v1/") or case.target.startswith("/admin/api/")) and case.method != "HEAD":
            body = answer.json()
            if not (isinstance(body, dict) and "error" in body):
                return "a %d on %s without a JSON error body" % (status, case.label)
        if case.method == "CONNECT" and status != 405:
            return "CONNECT answered %d, not 405 (Weir is no tunnel)" % status
        return None

    def run_slowloris(self, case):
        host, port = split_base(self.base)
        sockets = []
        request = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 40 + b"\r\n\r\n"
        stop = time.monotonic() + 2.0
        problems = []
        try:
            for _ in range(case.slowloris):
                s = socket.create_connection((host, port), timeout=TIMEOUT)
                s.settimeout(TIMEOUT)
                sockets.append(s)
            served = []
            def others():
                # while the slow sockets dribble, ordinary requests must be answered promptly
                while time.monotonic() < stop:
                    live = exchange(self.base, "GET", "/health/live", timeout=5)
                    chat = exchange(self.base, "POST", "/v1/chat/completions", self.auth() + [("Content-Type", "application/json")],
                                    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"slow neighbours"}]}', timeout=10)
                    served.append((live.status, chat.status, live.error or chat.error))
                    time.sleep(0.2)
            helper = threading.Thread(target=others, daemon=True)
            helper.start()
            i = 0
            while time.monotonic() < stop and i < len(request) - 4:
                for s in sockets:
                    try:
                        s.sendall(request[i:i + 1])
                    except OSError:
                        pass
                i += 1
                time.sleep(0.1)
            helper.join(15)
            if not served:
                problems.append("no request was served while %d slow sockets were open" % len(sockets))
            for live, chat, error in served:
                if live != 200 or chat != 200:
                    problems.append("while slow sockets were open: /health/live %s, chat %s (%s)" % (live, chat, error))
                    break
            self.counts.setdefault("slowloris", {}).setdefault("served %d" % len(served), 0)
            self.counts["slowloris"]["served %d" % len(served)] += 1
        except OSError as error:
            problems.append("slowloris socket: %s" % error)
        finally:
            for s in sockets:
                s.close()
        return problems[0] if problems else None

    def record_failure(self, case, reason, what=None, body=None, answer=None):
        self.failed += 1
        seed = self.args.seed
        where = "case %d" % case.number if case else "(%s)" % (what or "set-up")
        lines = ["hostile: FAIL seed %s %s: %s" % (seed, where, reason)]
        if case:
            lines.append("  request: %s %s%s" % (case.method, case.target[:300], "  (%s)" % case.note if case.note else ""))
            lines.append("  headers: %r" % [(k, v[:80]) for k, v in case.headers])
            payload = case.raw if case.raw is not None else (case.body or b"")
            lines.append("  body[:300] (%d bytes): %r" % (len(payload), payload[:300]))
        elif what:
            lines.append("  request: %s" % what)
            lines.append("  body[:300]: %r" % (body or b"")[:300])
        if answer is not None:
            lines.append("  answer: status %s, error %s, %d body bytes" % (answer.status, answer.error, answer.body_bytes))
            lines.append("  head: %r" % answer.head[:800])
            lines.append("  body[:300]: %r" % answer.body[:300])
        if case:
            lines.append("  replay: python3 Tests/python/hostile_e2e.py --base %s --token \"$WEIR_TOKEN\" --seed %s --replay %s:%d"
                         % (self.base, seed, seed, case.number))
        text = "\n".join(lines)
        self.failures.append(text)
        print(text, flush=True)

    def metric(self, name, label_text=""):
        text = self.full_metrics() or ""
        for line in text.splitlines():
            if line.startswith(name) and label_text in line:
                try:
                    return float(line.rsplit(" ", 1)[1])
                except ValueError:
                    return None
        return None

    def overflow_phase(self):
        """Answers the hostile provider prices at the most there is, with the most usage a
        node believes, until the cost sums pass Int64.max: the node must neither trap nor
        wrap (the old debug build died here, the next one wrapped the counter negative)."""
        model = "hostile-evil-usage-max"
        body = encode({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
        headers = self.auth() + [("Content-Type", "application/json")]
        before = self.metric("weir_cost_micro_usd_total", 'model="%s"' % model) or 0
        first = exchange(self.base, "POST", "/v1/chat/completions", headers, body)
        after = self.metric("weir_cost_micro_usd_total", 'model="%s"' % model)
        if first.status != 200 or after is None or after <= before:
            print("hostile: overflow phase skipped (the first answer: %s, cost %s → %s)" % (first.status, before, after), flush=True)
            return
        each = after - before
        needed = int((2**63 - after) / each) + 3
        if needed > 3000:
            print("hostile: overflow phase skipped: %d answers of %.3g micro-USD would be needed" % (needed, each), flush=True)
            return
        started = time.monotonic()
        for i in range(needed):
            answer = exchange(self.base, "POST", "/v1/chat/completions", headers, body)
            if answer.status != 200:
                if not self.live():
                    self.dead = True
                    self.record_failure(None, "the node died after %d answers of %.3g micro-USD each (the cost sums passed Int64.max)" % (i + 1, each),
                                        "POST /v1/chat/completions model %s, %d times" % (model, needed), body=body, answer=answer)
                    return
        print("hostile: overflow phase: %d answers of %.3g micro-USD in %.1f s" % (needed, each, time.monotonic() - started), flush=True)

    def check_counters(self):
        """No counter of /metrics may be negative (a wrapped Int64)."""
        text = self.full_metrics() or ""
        negative = [line for line in text.splitlines() if line and not line.startswith("#") and re.search(r"_total(\{[^}]*\})? -\d", line)]
        if negative:
            self.record_failure(None, "counters went negative (an Int64 sum wrapped): %s" % "; ".join(negative[:5]), "GET /metrics")

    def check_reservations(self):
        require = os.environ.get("WEIR_HOSTILE_REQUIRE_GAUGE", "1") == "1"
        deadline = time.monotonic() + 30
        value = None
        while True:
            answer = exchange(self.base, "GET", "/metrics", timeout=10)
            text = answer.body.decode("utf-8", "replace") if answer.status == 200 else ""
            if answer.status == 200 and answer.body_bytes > len(answer.body):
                full = self.full_metrics()
                text = full if full is not None else text
            values = [float(m.group(1)) for m in re.finditer(r"^weir_quota_open_reservations(?:\{[^}]*\})?\s+(\S+)", text, re.M)]
            if values:
                value = sum(values)
                if value == 0:
                    print("hostile: weir_quota_open_reservations is 0", flush=True)
                    return
            elif answer.status == 200:
                if require:
                    self.record_failure(None, "gauge missing: /metrics has no weir_quota_open_reservations", "GET /metrics")
                else:
                    print("hostile: warning: gauge missing: /metrics has no weir_quota_open_reservations (set WEIR_HOSTILE_REQUIRE_GAUGE=1 to fail)", flush=True)
                return
            if time.monotonic() > deadline:
                self.record_failure(None, "weir_quota_open_reservations is %s, not 0, 30 s after the last case (a reservation never settled)" % value
                                    if value is not None else "GET /metrics did not answer 200 (%s)" % (answer.error or answer.status), "GET /metrics")
                return
            time.sleep(0.5)

    def full_metrics(self):
        answer = exchange(self.base, "GET", "/metrics", timeout=10, keep_max=64 << 20)
        return answer.body.decode("utf-8", "replace") if answer.status == 200 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the node, http://127.0.0.1:PORT")
    parser.add_argument("--token", required=True, help="a super-admin token that may also invoke models")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--replay", default=None, help="SEED:CASE, to run one case again")
    parser.add_argument("--no-evil-upstream", action="store_true",
                        help="do not start the hostile provider (a loopback port the node must reach)")
    args = parser.parse_args()
    only = None
    if args.replay:
        seed_text, _, case_text = args.replay.partition(":")
        args.seed, only = int(seed_text), int(case_text)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    print("hostile: seed %d (replay a case with --seed %d --replay %d:CASE)" % (args.seed, args.seed, args.seed), flush=True)
    run = Run(args)
    if not run.live():
        run.fail_setup("GET /health/live did not answer 200 before the first case")
    started = time.monotonic()
    run.setup()
    numbers = [only] if only is not None else list(range(1, args.cases + 1))
    last = []
    # WEIR_HOSTILE_SKIP: a regular expression; cases whose request bytes match it are not
    # sent (to look past a known crash while it is being fixed). Never set in the suite.
    skip = re.compile(os.environ["WEIR_HOSTILE_SKIP"].encode()) if os.environ.get("WEIR_HOSTILE_SKIP") else None
    skipped = 0
    for number in numbers:
        case = run.make_case(args.seed, number)
        if skip is not None and skip.search(case.target.encode("utf-8", "surrogatepass") + b" " + (case.raw or case.body or b"")):
            skipped += 1
            continue
        last.append(case)
        last = last[-5:]
        answer = None
        case_started = time.monotonic()
        try:
            reason, answer = run.run_case(case)
        except Exception as error:  # a bug of this script must not pass for the node's
            reason = "the test itself raised %s: %s" % (type(error).__name__, error)
        if reason:
            run.record_failure(case, reason, answer=answer)
        else:
            run.passed += 1
        took = time.monotonic() - case_started
        run.durations.append((took, case.number, case.label, case.note))
        if took > 5 and not case.slowloris:
            run.note("a case took over 5 s (%s)" % case.label, case)
        if not run.live():
            run.dead = True
            run.record_failure(case, "GET /health/live no longer answers 200 after this case: the node died or hangs "
                                     "(the cases just before: %s)" % ", ".join(str(c.number) for c in last))
            break
    if not run.dead and run.evil and only is None:
        run.overflow_phase()
    if not run.dead:
        run.check_counters()
        run.check_reservations()
        if not run.live():
            run.record_failure(None, "GET /health/live did not answer 200 at the end", "GET /health/live")
    for label in sorted(run.counts):
        statuses = " ".join("%s=%d" % (k, v) for k, v in sorted(run.counts[label].items()))
        print("hostile: %-48s %s" % (label, statuses))
    for what, (n, first) in sorted(run.notes.items()):
        print("hostile: note: %dx %s%s" % (n, what, " (first: case %d)" % first if first else ""))
    for took, number, label, note in sorted(run.durations, reverse=True)[:5]:
        print("hostile: slowest: case %d %.2f s %s %s" % (number, took, label, note))
    if skipped:
        print("hostile: %d cases skipped (WEIR_HOSTILE_SKIP)" % skipped)
    print("hostile: %d cases in %.1f s" % (len(numbers), time.monotonic() - started))
    print("hostile: %d passed, %d failed" % (run.passed, run.failed), flush=True)
    sys.exit(0 if run.failed == 0 else 1)


if __name__ == "__main__":
    main()

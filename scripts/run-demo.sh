#!/usr/bin/env bash
# `make run`: one node with embedded defaults. With no provider key in the environment
# (OPENAI_API_KEY, ANTHROPIC_API_KEY, OLLAMA_BASE_URL) it also starts mockllm on
# 127.0.0.1:9999 and has the node register it on first start, so a completion works at
# once. Extra flags for `weir serve` come as arguments (make run ARGS="...").
set -euo pipefail
cd "$(dirname "$0")/.."

mock_port=${MOCK_PORT:-9999}
bin=${BUILD_DIR:-.build/release}
extra=()
if [ -z "${OPENAI_API_KEY:-}" ] && [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -z "${OLLAMA_BASE_URL:-}" ]; then
  "$bin/mockllm" --listen "127.0.0.1:$mock_port" --latency-ms 20 --chunk-delay-ms 5 > mockllm.log 2>&1 &
  mock=$!
  trap 'kill $mock 2>/dev/null || true' EXIT
  extra=(--set "providers.demo_upstream=http://127.0.0.1:$mock_port/v1")
  echo "weir: no provider key in the environment; mockllm answers on 127.0.0.1:$mock_port (log: mockllm.log)"
fi
"$bin/weir" serve "${extra[@]}" "$@"

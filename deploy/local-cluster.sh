#!/usr/bin/env bash
# A local three-node Weir cluster behind haproxy: `make cluster` / `make cluster-stop`.
#
#   deploy/local-cluster.sh start    start what is not running (nodes n1 n2 n3, haproxy)
#   deploy/local-cluster.sh stop     stop it all (SIGTERM, then SIGKILL after 15 s)
#   deploy/local-cluster.sh status   what runs, with pids
#
# State lives under $CLUSTER_DIR (default ./.cluster): node data in n1/ n2/ n3/, logs in
# n1.log …, the shared cluster secret and key-encryption key, haproxy.cfg, and the
# first super-admin token in admin.token. Ports and the binary can be changed through
# the environment (the cluster tests do, to run on free ports):
#   WEIR_BINARY (.build/release/weir), CLUSTER_HTTP_PORTS ("8081 8082 8083"),
#   CLUSTER_PEER_PORTS ("7081 7082 7083"), CLUSTER_LB_PORT (8080), CLUSTER_WAIT_SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${CLUSTER_DIR:-.cluster}
binary=${WEIR_BINARY:-.build/release/weir}
read -r -a http_ports <<< "${CLUSTER_HTTP_PORTS:-8081 8082 8083}"
read -r -a peer_ports <<< "${CLUSTER_PEER_PORTS:-7081 7082 7083}"
lb_port=${CLUSTER_LB_PORT:-8080}
wait_seconds=${CLUSTER_WAIT_SECONDS:-60}
nodes=(1 2 3)

fail() { echo "cluster: $*" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
ready() { curl --noproxy '*' -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/health/ready" 2>/dev/null; }
random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

# Polls `$@` until it succeeds or CLUSTER_WAIT_SECONDS pass.
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + wait_seconds))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "$what did not happen within ${wait_seconds}s; see the logs in $dir/"
    sleep 0.2
  done
}

start_node() {
  local i=$1 http=${http_ports[$(($1 - 1))]} peer=${peer_ports[$(($1 - 1))]}
  local peers="" j
  for j in "${nodes[@]}"; do peers+="${peers:+,}n$j=tcp://127.0.0.1:${peer_ports[$((j - 1))]}"; done
  local first=()
  [ -d "$dir/n$i" ] || first=(--bootstrap)
  # setsid: the node outlives this script and `make`, and ignores the terminal's Ctrl-C.
  setsid "$binary" serve --node-id "n$i" --data-dir "$dir/n$i" --http-port "$http" \
    --peer-listen "tcp://127.0.0.1:$peer" --set "peer.peers=$peers" \
    --set "cluster.id=local" --set "cluster.secret_file=$dir/cluster.secret" --set "cluster.kek_file=$dir/kek.key" \
    "${first[@]}" >> "$dir/n$i.log" 2>&1 < /dev/null &
  echo $! > "$dir/n$i.pid"
}

write_haproxy_config() {
  {
    echo "global"
    echo "    maxconn 4096"
    echo "defaults"
    echo "    mode http"
    echo "    timeout connect 2s"
    echo "    timeout client 5m"
    echo "    timeout server 5m"
    echo "    retries 2"
    echo "    option redispatch"
    echo "frontend weir"
    echo "    bind 127.0.0.1:$lb_port"
    echo "    default_backend nodes"
    echo "backend nodes"
    echo "    balance roundrobin"
    echo "    option httpchk GET /health/ready"
    echo "    http-check expect status 200"
    echo "    default-server inter 500ms fall 2 rise 2"
    for i in "${nodes[@]}"; do echo "    server n$i 127.0.0.1:${http_ports[$((i - 1))]} check"; done
  } > "$dir/haproxy.cfg"
}

admin_token_written() {
  local i
  for i in "${nodes[@]}"; do
    if [ -s "$dir/n$i/admin.token" ]; then
      install -m 600 "$dir/n$i/admin.token" "$dir/admin.token"
      return 0
    fi
  done
  [ -s "$dir/admin.token" ]
}

all_ready() {
  local i
  for i in "${nodes[@]}"; do ready "${http_ports[$((i - 1))]}" || return 1; done
  ready "$lb_port"
}

start() {
  [ -x "$binary" ] || fail "$binary is missing; build it first (make cluster does)"
  command -v haproxy > /dev/null || fail "haproxy is not installed; run scripts/install-deps.sh"
  command -v curl > /dev/null || fail "curl is not installed"
  mkdir -p "$dir"
  chmod 700 "$dir"
  umask 077
  [ -s "$dir/cluster.secret" ] || random_hex > "$dir/cluster.secret"
  [ -s "$dir/kek.key" ] || random_hex > "$dir/kek.key"
  local i started=()
  for i in "${nodes[@]}"; do
    alive "$dir/n$i.pid" && continue
    start_node "$i"
    started+=("n$i")
  done
  if ! alive "$dir/haproxy.pid"; then
    write_haproxy_config
    haproxy -f "$dir/haproxy.cfg" -D -p "$dir/haproxy.pid" || fail "haproxy did not start; see $dir/haproxy.cfg"
    started+=(haproxy)
  fi
  wait_for "every node and haproxy answering /health/ready" all_ready
  wait_for "the first super-admin token" admin_token_written
  echo "Weir cluster running${started:+ (started ${started[*]})}; state in $dir/"
  echo "  load balancer  http://127.0.0.1:$lb_port   (haproxy, health checks on /health/ready)"
  for i in "${nodes[@]}"; do
    echo "  node n$i        http://127.0.0.1:${http_ports[$((i - 1))]}   log $dir/n$i.log"
  done
  echo "  admin token    $dir/admin.token"
  echo "  try:  curl -H \"Authorization: Bearer \$(cat $dir/admin.token)\" http://127.0.0.1:$lb_port/admin/api/users"
  echo "  API docs http://127.0.0.1:$lb_port/docs · stop with: make cluster-stop"
}

stop() {
  local pidfile pids=()
  for pidfile in "$dir"/n*.pid "$dir/haproxy.pid"; do
    [ -f "$pidfile" ] || continue
    if alive "$pidfile"; then
      pids+=("$(cat "$pidfile")")
      kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  local deadline=$((SECONDS + 15)) pid
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
  done
  echo "Weir cluster stopped (${#pids[@]} processes); state kept in $dir/ (remove it for a new cluster)"
}

status() {
  local i
  for i in "${nodes[@]}"; do
    if alive "$dir/n$i.pid"; then echo "n$i running, pid $(cat "$dir/n$i.pid")"; else echo "n$i stopped"; fi
  done
  if alive "$dir/haproxy.pid"; then echo "haproxy running, pid $(cat "$dir/haproxy.pid")"; else echo "haproxy stopped"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: deploy/local-cluster.sh start|stop|status" >&2; exit 2 ;;
esac

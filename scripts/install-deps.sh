#!/usr/bin/env bash
# Installs what Weir needs to build and test on Debian 12, and nothing that is already
# there: the C libraries (RocksDB, nng, OpenSSL), pkg-config, python3 with venv (tests use
# it; scripts/python-env.sh fills .venv), haproxy (make cluster and the cluster tests), wrk and
# nginx-light (make bench: the load and the upstream, each in its own process) and
# headless Chromium with its driver (the console tests), iproute2, faketime and fiu-utils (the chaos
# harness: network namespaces, a node's clock skewed, a node's fsyncs failed).
# Uses sudo when not run as root. The Swift toolchain itself must already be on PATH.
set -euo pipefail

packages=(librocksdb-dev libnng-dev libssl-dev libzstd-dev pkg-config python3-venv haproxy wrk nginx-light curl chromium chromium-driver iproute2 faketime fiu-utils)
command -v python3 >/dev/null 2>&1 || packages+=(python3)

if ! command -v swift >/dev/null 2>&1; then
  echo "weir: the Swift toolchain (6.2 or newer) is not on PATH; install it from swift.org and retry" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "weir: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "weir: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"

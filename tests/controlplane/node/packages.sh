#!/usr/bin/env bash
# Installs what the test node needs from Debian's packages, when missing: containerd, runc, the
# CNI plugins and iptables, and the headless Chromium that loads the HTML reports
# (tests/README.md). Does nothing when all are there.
set -euo pipefail
need=""
command -v containerd >/dev/null && command -v ctr >/dev/null || need="$need containerd"
command -v runc >/dev/null || [ -x /usr/sbin/runc ] || need="$need runc"
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/firewall ] || need="$need containernetworking-plugins"
command -v iptables >/dev/null || [ -x /usr/sbin/iptables ] || need="$need iptables"
command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null || need="$need chromium-headless-shell"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[node] the test node needs the Debian packages:$need (install them as root with apt-get)" >&2
  exit 1
fi
echo "[node] installing:$need" >&2
start=$(date +%s)
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >&2
echo "[node] installed in $(( $(date +%s) - start ))s" >&2

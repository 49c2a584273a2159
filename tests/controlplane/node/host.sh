#!/usr/bin/env bash
# The host side of the test node (tests/src/node/): what it changes on this machine, recorded
# before and undone after. One node per machine at a time: the directory, the bridge and the
# addresses are fixed, so that a run can always find and clear what an interrupted one left.
#
#   host.sh up       clear leftovers, record the host's state, add the node's address and the
#                    rule that keeps pod traffic on this machine
#   host.sh down     kill everything of the node, unmount, remove chains, links and addresses,
#                    restore sysctls and the paths the kubelet writes outside its directory
#   host.sh check    exit 1 (and say what) if anything of a node is left on the host
#
# Everything here is idempotent: `down` after `down`, or `down` with no node, does nothing.
set -uo pipefail

NODE_DIR="/var/lib/hipaa-guard-node"
BRIDGE="hgbr0"
NODE_ADDR="10.213.255.1"   # on lo as a /32: the API server and the kubelet listen here
POD_CIDR="10.213.0.0/24"   # the bridge's range (host-local IPAM)
SERVICE_CIDR="10.213.128.0/24"
RULE_COMMENT="hipaa-guard-node"
STATE="$NODE_DIR.host-state"   # beside the node directory: it outlives `rm -rf $NODE_DIR`
# What the kubelet, kube-proxy and the CNI plugins change on the host (kubelet: its kernel
# defaults; bridge/kube-proxy: forwarding and bridge netfilter).
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables"
# Paths the kubelet and CNI write outside the node directory, whatever their flags say.
HOST_PATHS="/var/lib/kubelet /var/log/containers /var/log/pods /run/mount /usr/libexec/kubernetes
/var/lib/cni /opt/containerd /run/containerd/io.containerd.runtime.v2.task /run/containerd/runc"

say() { printf '[node-host] %s\n' "$*" >&2; }

record() {
  [ -e "$STATE/recorded" ] && return 0   # an interrupted run's record is the true original
  mkdir -p "$STATE"
  : >"$STATE/sysctls"
  for key in $SYSCTLS; do
    value=$(sysctl -n "$key" 2>/dev/null) || continue
    printf '%s=%s\n' "$key" "$value" >>"$STATE/sysctls"
  done
  : >"$STATE/absent-paths"
  for path in $HOST_PATHS; do
    [ -e "$path" ] || echo "$path" >>"$STATE/absent-paths"
  done
  touch "$STATE/recorded"
}

up() {
  down
  record
  mkdir -p "$NODE_DIR"
  ip addr add "$NODE_ADDR/32" dev lo 2>/dev/null || ip addr show dev lo | grep -q "$NODE_ADDR/32" \
    || { say "cannot add $NODE_ADDR/32 to lo"; return 1; }
  # Pods copy no outside resolver (the kubelet gets a resolv.conf of the node's own), and this
  # rule drops anything from the pod range that would leave through any link but the bridge.
  iptables -w -I FORWARD 1 -s "$POD_CIDR" ! -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j DROP
}

kill_node_processes() {
  # Everything started for the node carries its directory on the command line or in its
  # environment (the shims inherit containerd's); container processes live in kubepods cgroups.
  local pids pid
  for round in 1 2 3; do
    pids=""
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
      [ "$pid" = "$$" ] && continue
      # "$NODE_DIR/": the lock and state paths beside the directory share its prefix, and the
      # janitor that runs this names the lock.
      if grep -qsF -- "$NODE_DIR/" "/proc/$pid/cmdline" || grep -qsF -- "HIPAA_GUARD_NODE_PROCESS=1" "/proc/$pid/environ"; then
        pids="$pids $pid"
      fi
    done
    for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/unified/kubepods; do
      [ -d "$cg" ] || continue
      pids="$pids $(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')"
    done
    pids=$(echo $pids)
    [ -z "$pids" ] && return 0
    kill -KILL $pids 2>/dev/null
    sleep 0.5
  done
}

remove_cgroups() {
  local cg
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/unified/kubepods; do
    [ -d "$cg" ] || continue
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  done
}

unmount_all() {
  local mp
  for i in 1 2 3; do
    # Deepest first; mount points with spaces do not occur under the node directory.
    mps=$(awk -v d="$NODE_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    [ -z "$mps" ] && return 0
    for mp in $mps; do umount -l "$mp" 2>/dev/null; done
  done
}

remove_chains() { # remove_chains iptables|ip6tables
  local tool="$1" table chain rule
  command -v "$tool" >/dev/null || return 0
  for table in filter nat mangle raw; do
    # First the rules of any chain that jump to a KUBE- or CNI- chain, then those chains.
    "$tool-save" -t "$table" 2>/dev/null | grep -E '^-A [^ ]+ .*-j (KUBE-|CNI-)' | grep -vE '^-A (KUBE-|CNI-)' \
      | while read -r rule; do
          eval "$tool -w -t $table -D ${rule#-A }" 2>/dev/null
        done
    for chain in $("$tool-save" -t "$table" 2>/dev/null | sed -n 's/^:\(\(KUBE-\|CNI-\)[^ ]*\) .*/\1/p'); do
      "$tool" -w -t "$table" -F "$chain" 2>/dev/null
    done
    for chain in $("$tool-save" -t "$table" 2>/dev/null | sed -n 's/^:\(\(KUBE-\|CNI-\)[^ ]*\) .*/\1/p'); do
      "$tool" -w -t "$table" -X "$chain" 2>/dev/null
    done
  done
  while "$tool" -w -D FORWARD -s "$POD_CIDR" ! -o "$BRIDGE" -m comment --comment "$RULE_COMMENT" -j DROP 2>/dev/null; do :; done
}

down() {
  kill_node_processes
  unmount_all
  remove_cgroups
  remove_chains iptables
  remove_chains ip6tables
  ip link del "$BRIDGE" 2>/dev/null
  # veths whose pod side died with their namespace are gone; any left on the bridge's range go too.
  for link in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip -o link show "$link" | grep -q "master $BRIDGE" && ip link del "$link" 2>/dev/null
  done
  ip addr del "$NODE_ADDR/32" dev lo 2>/dev/null
  rm -rf "$NODE_DIR"
  if [ -e "$STATE/recorded" ]; then
    while IFS='=' read -r key value; do
      [ -n "$key" ] && sysctl -qw "$key=$value" >/dev/null 2>&1
    done <"$STATE/sysctls"
    while read -r path; do
      [ -n "$path" ] || continue
      if [ -d "$path" ]; then
        awk -v d="$path" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
      fi
      rm -rf "$path"
    done <"$STATE/absent-paths"
    rm -rf "$STATE"
  fi
  return 0
}

check() {
  local left=""
  [ -e "$NODE_DIR" ] && left="$left; $NODE_DIR exists"
  ip link show "$BRIDGE" >/dev/null 2>&1 && left="$left; link $BRIDGE"
  ip addr show dev lo | grep -q "$NODE_ADDR/" && left="$left; $NODE_ADDR on lo"
  for tool in iptables ip6tables; do
    command -v "$tool-save" >/dev/null || continue
    "$tool-save" 2>/dev/null | grep -qE '(KUBE-|CNI-|hipaa-guard-node)' && left="$left; $tool chains or rules"
  done
  awk -v d="$NODE_DIR/" 'index($5, d) == 1' /proc/self/mountinfo | grep -q . && left="$left; mounts under $NODE_DIR"
  ls -d /sys/fs/cgroup/*/kubepods >/dev/null 2>&1 && left="$left; kubepods cgroups"
  [ -e "$STATE" ] && left="$left; an unrestored host record in $STATE"
  if [ -n "$left" ]; then say "left on the host${left}"; return 1; fi
}

# One node per machine: `up` and `down` by hand wait for the node lock, so that they never tear
# down a node a test is using. The harness holds the lock itself (its janitor) and says so.
LOCK_FILE="/var/lib/hipaa-guard-node.lock"
locked() {
  if [ "${HIPAA_GUARD_NODE_LOCKED:-0}" = 1 ]; then "$@"; return; fi
  exec 8>"$LOCK_FILE"
  flock -w 900 8 || { say "another node holds $LOCK_FILE"; return 1; }
  "$@"
}

case "${1:-}" in
  up) locked up ;;
  down) locked down ;;
  check) check ;;
  *) echo "usage: $0 up|down|check" >&2; exit 2 ;;
esac

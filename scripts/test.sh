#!/usr/bin/env bash
# The project's one test command (README: `make test`; CI: .ci/run).
# Builds or reuses the real control plane and node (etcd, kube-apiserver, kubectl, helm, moto,
# kubelet, kube-controller-manager, kube-scheduler, kube-proxy; containerd, runc and the CNI
# plugins from Debian's packages) and the product's images, then runs formatting, lints, and
# every test of the workspace, end-to-end and in-cluster tests included, then replays the fuzz
# corpus and fuzzes each target briefly (scripts/fuzz.sh). Prints each phase's time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Tests must never reach instance metadata or anything outside loopback.
export AWS_EC2_METADATA_DISABLED=true

phases=()
phase_name=""
phase_start=$SECONDS
run_start=$SECONDS
step() {
  end_phase
  phase_name="$*"
  phase_start=$SECONDS
  printf '\n==> %s\n' "$*"
}
end_phase() {
  if [ -n "$phase_name" ]; then
    phases+=("$(printf '%5ss  %s' "$((SECONDS - phase_start))" "$phase_name")")
  fi
  phase_name=""
}
background() { # background NAME PID START: how long a background build took, in the summary
  phases+=("$(printf "%5ss  %s (in the background: done by then)" "$((SECONDS - $3))" "$1")")
}
summary() {
  local status=$?
  # A failed step leaves no background build running after the script.
  for job in $(jobs -p); do kill "$job" 2>/dev/null || true; done
  end_phase
  printf '\n==> phase times (total %ss, exit %s)\n' "$((SECONDS - run_start))" "$status"
  printf '%s\n' "${phases[@]}"
}
trap summary EXIT

step "node packages: containerd, runc, the CNI plugins and iptables from Debian's, when missing"
bash tests/controlplane/node/packages.sh

step "control plane and node: build or reuse (in the background, while cargo builds)"
cp_log="$(mktemp -t hipaa-controlplane-build.XXXXXX.log)"
bash tests/controlplane/build.sh >"$cp_log.out" 2>"$cp_log" &
cp_pid=$!
cp_start=$SECONDS

step "images: static release binaries and the pause image (make images, in the background)"
images_log="$(mktemp -t hipaa-images-build.XXXXXX.log)"
bash scripts/build-images.sh >"$images_log" 2>&1 &
images_pid=$!
images_start=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

step "module cycles"
python3 scripts/check-module-cycles.py

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (binaries the end-to-end tests run)"
cargo build --workspace --bins --locked

step "waiting for the images"
if ! wait "$images_pid"; then
  cat "$images_log" >&2
  echo "make images failed; its log is above" >&2
  exit 1
fi
background "make images" "$images_pid" "$images_start"
grep -E '^hipaa-guard/|^==> done|^cargo build' "$images_log" || true
rm -f "$images_log"

step "waiting for the control-plane and node build"
if ! wait "$cp_pid"; then
  cat "$cp_log" >&2
  echo "control-plane build failed; its log is above" >&2
  exit 1
fi
background "control plane and node build" "$cp_pid" "$cp_start"
cat "$cp_log" >&2
HIPAA_GUARD_K8S_BIN="$(tail -n 1 "$cp_log.out")"
export HIPAA_GUARD_K8S_BIN
rm -f "$cp_log" "$cp_log.out"

step "cargo test --workspace"
cargo test --workspace --locked -- "$@"

step "fuzzing: instrumented build, corpus replay, each target briefly (scripts/fuzz.sh)"
bash scripts/fuzz.sh replay-and-short

step "no test process is left behind, and the node restored the host"
leftover_check() {
  local pid
  leftovers=""
  for f in $(grep -l HIPAA_TESTKIT_RUN= /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/environ}
    leftovers="$leftovers$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"$'\n'
  done
  [ -z "${leftovers//$'\n'/}" ] && bash tests/controlplane/node/host.sh check 2>/dev/null
}
n=0
until leftover_check; do
  n=$((n + 1))
  if [ "$n" -ge 30 ]; then
    printf 'test processes left behind:\n%s' "$leftovers" >&2
    bash tests/controlplane/node/host.sh check || true
    exit 1
  fi
  sleep 1
done
echo "none left; the host is as it was"

#!/usr/bin/env bash
# The project's one test command (README: `make test`; CI: .ci/run).
# Builds or reuses the real control plane (etcd, kube-apiserver, kubectl, helm, moto), then runs
# formatting, lints, and every test of the workspace, end-to-end tests included.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Tests must never reach instance metadata or anything outside loopback.
export AWS_EC2_METADATA_DISABLED=true

step "control plane: build or reuse etcd, kube-apiserver, kubectl, helm and moto (in the background)"
cp_log="$(mktemp -t hipaa-controlplane-build.XXXXXX.log)"
bash tests/controlplane/build.sh >"$cp_log.out" 2>"$cp_log" &
cp_pid=$!

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (binaries the end-to-end tests run)"
cargo build --workspace --bins --locked

step "waiting for the control-plane build"
if ! wait "$cp_pid"; then
  cat "$cp_log" >&2
  echo "control-plane build failed; its log is above" >&2
  exit 1
fi
cat "$cp_log" >&2
HIPAA_GUARD_K8S_BIN="$(tail -n 1 "$cp_log.out")"
export HIPAA_GUARD_K8S_BIN
rm -f "$cp_log" "$cp_log.out"

step "cargo test --workspace"
cargo test --workspace --locked -- "$@"

step "no etcd, kube-apiserver or moto process of this run is left behind"
sleep 3
if leftovers=$(grep -l HIPAA_TESTKIT_RUN= /proc/[0-9]*/environ 2>/dev/null) && [ -n "$leftovers" ]; then
  echo "test processes left behind:" >&2
  for f in $leftovers; do pid=${f#/proc/}; pid=${pid%/environ}; tr '\0' ' ' < "/proc/$pid/cmdline" >&2; echo >&2; done
  exit 1
fi
echo "none left"

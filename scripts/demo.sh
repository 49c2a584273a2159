#!/usr/bin/env bash
# The local demo (`make demo`): HIPAA Guard end to end on this machine, no cloud account needed.
#
# Builds what it needs (first run only), starts a real etcd + kube-apiserver and a local AWS
# endpoint (moto) seeded with an EKS cluster, ECR repositories and Secrets Manager secrets, installs
# the Helm chart (CRD, ServiceAccounts, RBAC, webhook configuration), runs the operator and the
# webhook as local processes with their ServiceAccounts' tokens, applies sample policies and
# workloads, shows `kubectl get hipaapolicies` and a rejected `kubectl apply`, then waits. Ctrl-C
# tears everything down.
#
# Environment:
#   DEMO_NONINTERACTIVE=1   exit (and tear down) after printing, instead of waiting (make demo-ci)
#   DEMO_PROFILE=release    build and run release binaries (default: debug, quicker to build)
#   DEMO_SKIP_BUILD=1       use the binaries already in DEMO_TARGET_DIR (default target/<profile>)
#   DEMO_KEEP=1             keep the state directory (kubeconfig, logs) after teardown
#   HIPAA_GUARD_K8S_BIN     control-plane binaries (default: built by tests/controlplane/build.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

interactive=1
if [ "${DEMO_NONINTERACTIVE:-0}" != 0 ]; then interactive=0; fi
profile="${DEMO_PROFILE:-debug}"
target="${DEMO_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/$profile}"
release=hipaa-guard
namespace=hipaa-guard
samples="deploy/samples"

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf '\ndemo: error: %s\n' "$*" >&2; exit 1; }

# ---- teardown -------------------------------------------------------------------------------------
state=""
pids=()
names=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # A failure shows the logs; an interrupt (130) or a termination (143) is the user's teardown.
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ] && [ -n "$state" ] && [ -d "$state/logs" ]; then
    for log in "$state"/logs/*.log; do
      [ -s "$log" ] || continue
      printf '\n---- last lines of %s ----\n' "$log" >&2
      tail -n 25 "$log" >&2
    done
  fi
  if [ "${#pids[@]}" -gt 0 ]; then
    step "tearing down: $(IFS=,; echo "${names[*]}" | sed 's/,/, /g')"
    # Newest first: the operator and the webhook stop before the control plane they talk to.
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
      stop_process "${pids[$i]}"
    done
  fi
  if [ -n "$state" ]; then
    if [ "${DEMO_KEEP:-0}" != 0 ]; then note "kept $state"; else rm -rf "$state"; fi
  fi
  exit "$status"
}
stop_process() {
  local pid="$1" n=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOGFILE COMMAND...: runs COMMAND in the background, remembered for teardown.
start() {
  local name="$1" log="$2"; shift 2
  "$@" >"$log" 2>&1 &
  pids+=("$!")
  names+=("$name")
}

# ---- 1. build -----------------------------------------------------------------------------------
state="$(mktemp -d "${TMPDIR:-/tmp}/hipaa-guard-demo.XXXXXX")"
mkdir -p "$state/logs"
step "building: control plane (etcd, kube-apiserver, kubectl, helm, moto) and HIPAA Guard ($profile)"
if [ -z "${HIPAA_GUARD_K8S_BIN:-}" ]; then
  note "tests/controlplane/build.sh (the first run builds from source and takes minutes; then cached)"
  HIPAA_GUARD_K8S_BIN="$(bash tests/controlplane/build.sh 2>"$state/logs/controlplane-build.log" | tail -n 1)" \
    || die "the control-plane build failed (its log is below)"
fi
bins="$HIPAA_GUARD_K8S_BIN"
for tool in kubectl helm moto_server; do
  [ -x "$bins/$tool" ] || die "$bins/$tool is missing; run: bash tests/controlplane/build.sh"
done
if [ "${DEMO_SKIP_BUILD:-0}" = 0 ]; then
  cargo_profile=()
  if [ "$profile" = release ]; then cargo_profile=(--release); fi
  cargo build "${cargo_profile[@]}" --locked \
    -p hipaa-operator -p hipaa-webhook -p kubectl-hipaa -p hipaa-testkit --bins \
    || die "cargo build failed"
fi
for binary in hipaa-localcluster hipaa-operator hipaa-webhook; do
  [ -x "$target/$binary" ] || die "$target/$binary is missing (build it, or unset DEMO_SKIP_BUILD)"
done
moto_python="$(dirname "$(readlink -f "$bins/moto_server")")/python"
[ -x "$moto_python" ] || die "moto's virtualenv has no python at $moto_python; rerun tests/controlplane/build.sh"
kubectl() { "$bins/kubectl" "$@"; }
helm() { "$bins/helm" "$@"; }
free_port() { "$moto_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_ok() { "$moto_python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; }

# Helm's own files stay in the demo's state directory, away from the user's.
export HELM_CACHE_HOME="$state/helm/cache" HELM_CONFIG_HOME="$state/helm/config" HELM_DATA_HOME="$state/helm/data"

# ---- 2. control plane and AWS -------------------------------------------------------------------
step "starting the local control plane (etcd + kube-apiserver) and the local AWS endpoint (moto)"
HIPAA_GUARD_K8S_BIN="$bins" start localcluster "$state/logs/localcluster.log" \
  "$target/hipaa-localcluster" --state-dir "$state/cluster"
deadline=$((SECONDS + 180))
until [ -f "$state/cluster/cluster.env" ]; do
  kill -0 "${pids[0]}" 2>/dev/null || die "hipaa-localcluster exited during start-up"
  [ "$SECONDS" -lt "$deadline" ] || die "the control plane was not ready within 180s"
  sleep 0.2
done
# shellcheck disable=SC1091
source "$state/cluster/cluster.env"
note "API server $K8S_SERVER, AWS endpoint $AWS_ENDPOINT_URL"

step "seeding AWS: EKS cluster, KMS key, ECR repositories and images, Secrets Manager secrets"
"$moto_python" deploy/demo/seed_aws.py || die "seeding moto failed"

# ---- 3. the chart ---------------------------------------------------------------------------------
webhook_port="$(free_port)"
webhook_admin_port="$(free_port)"
operator_admin_port="$(free_port)"
step "helm install $release charts/hipaa-guard (CRD, ServiceAccounts, RBAC, webhook configuration)"
note "no kubelet runs pods here, so the Deployments are off (deploy/demo/values-local.yaml) and the"
note "webhook configuration calls the local webhook at https://127.0.0.1:$webhook_port/validate"
helm install "$release" charts/hipaa-guard --namespace "$namespace" --create-namespace \
  --values deploy/demo/values-local.yaml \
  --set "admission.url=https://127.0.0.1:$webhook_port/validate" \
  --set-file "certificates.provided.caBundle=$state/cluster/webhook/ca.crt" \
  >"$state/logs/helm-install.log" 2>&1 || { cat "$state/logs/helm-install.log" >&2; die "helm install failed"; }
helm list --namespace "$namespace" | sed "s/^/    /"

# A kubeconfig holding the token of one of the chart's ServiceAccounts, so that the local processes
# have exactly the permissions the chart grants them in a cluster.
service_account_kubeconfig() {
  local account="$1" file="$state/$1.kubeconfig" token
  token="$(kubectl create token "$account" --namespace "$namespace" --duration 24h)" \
    || die "cannot mint a token for ServiceAccount $namespace/$account"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "$K8S_SERVER", certificate-authority: "$K8S_CA_FILE"}}]
users: [{name: $account, user: {token: "$token"}}]
contexts: [{name: $account, context: {cluster: local, user: $account, namespace: $namespace}}]
current-context: $account
EOF
  echo "$file"
}

# ---- 4. the webhook and the operator ------------------------------------------------------------
step "starting hipaa-webhook and hipaa-operator as local processes (ServiceAccount tokens from the chart)"
webhook_kubeconfig="$(service_account_kubeconfig "$release-webhook")"
operator_kubeconfig="$(service_account_kubeconfig "$release-operator")"
start webhook "$state/logs/webhook.log" env KUBECONFIG="$webhook_kubeconfig" POD_NAMESPACE="$namespace" \
  RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 HIPAA_WEBHOOK_LOG_FORMAT=text \
  "$target/hipaa-webhook" --tls-cert "$state/cluster/webhook/tls.crt" --tls-key "$state/cluster/webhook/tls.key" \
  --listen "127.0.0.1:$webhook_port" --admin-listen "127.0.0.1:$webhook_admin_port"
start operator "$state/logs/operator.log" env KUBECONFIG="$operator_kubeconfig" POD_NAMESPACE="$namespace" \
  POD_NAME="hipaa-operator-local" RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 HIPAA_OPERATOR_LOG_FORMAT=text \
  "$target/hipaa-operator" --admin-listen "127.0.0.1:$operator_admin_port" --leader-elect \
  --lease-name "$release-operator"
wait_ready() { # NAME URL PID
  local deadline=$((SECONDS + 90))
  until http_ok "$2"; do
    kill -0 "$3" 2>/dev/null || die "$1 exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || die "$1 was not ready within 90s ($2)"
    sleep 0.3
  done
  note "$1 ready ($2)"
}
wait_ready hipaa-webhook "http://127.0.0.1:$webhook_admin_port/readyz" "${pids[1]}"
wait_ready hipaa-operator "http://127.0.0.1:$operator_admin_port/readyz" "${pids[2]}"

# ---- 5. workloads, then policies -----------------------------------------------------------------
# As on an existing cluster: the workloads run first, then the policies arrive and the operator
# audits what is there. The webhook learns of new objects through its watches; an apply that races
# them is retried for a few seconds.
apply_with_retry() {
  local out n=0
  until out="$(kubectl apply "$@" 2>&1)"; do
    n=$((n + 1))
    if [ "$n" -ge 20 ]; then printf '%s\n' "$out"; die "kubectl apply $* failed"; fi
    sleep 0.5
  done
  printf '%s\n' "$out" | sed 's/^/    /'
}
step "kubectl apply: namespaces (billing: PHI production, claims: PHI onboarding, sandbox: development)"
apply_with_retry -f "$samples/namespaces.yaml" -f "$samples/storageclass.yaml"
step "kubectl apply: the workloads already running (compliant billing, legacy claims, PHI in sandbox)"
apply_with_retry -f "$samples/workloads/billing-compliant.yaml" -f "$samples/workloads/claims-legacy.yaml" \
  -f "$samples/workloads/sandbox-phi.yaml"
step "kubectl apply: HipaaPolicies (phi-production: Enforce, phi-onboarding: Audit, no-phi-in-development: Warn)"
apply_with_retry -f "$samples/policies/"

# ---- 6. compliance, as the operator sees it --------------------------------------------------------
# Done when every policy has been audited and its status has held still for two polls (a change
# seen late triggers another audit within a second).
step "waiting for the operator's audit of each policy"
audit_state() {
  kubectl get hipaapolicies -o jsonpath='{range .items[*]}{.metadata.name}={.status.lastAuditTime},{.status.summary}{"\n"}{end}'
}
deadline=$((SECONDS + 120))
previous=""
while :; do
  kill -0 "${pids[2]}" 2>/dev/null || die "hipaa-operator exited"
  current="$(audit_state)"
  if ! printf '%s\n' "$current" | grep -q '=,' && [ "$current" = "$previous" ]; then break; fi
  [ "$SECONDS" -lt "$deadline" ] || die "the policies were not all audited within 120s: $current"
  previous="$current"
  sleep 1
done
step "kubectl get hipaapolicies"
kubectl get hipaapolicies
step "what the audit found for phi-onboarding (Kubernetes and AWS, first 15)"
kubectl get hipaapolicy phi-onboarding -o json | "$moto_python" -c '
import json, sys
status = json.load(sys.stdin).get("status") or {}
for v in (status.get("violations") or [])[:15]:
    where = "/".join(part for part in (v.get("namespace"), v.get("name")) if part)
    print("    %-26s %s %s" % (v.get("control", ""), v.get("kind", ""), where))
'

# ---- 7. admission ----------------------------------------------------------------------------------
step "kubectl apply -f $samples/workloads/billing-non-compliant.yaml   (billing is governed by phi-production: Enforce)"
denied=""
for _ in $(seq 1 40); do
  if out="$(kubectl apply -f "$samples/workloads/billing-non-compliant.yaml" 2>&1)"; then
    kubectl delete -f "$samples/workloads/billing-non-compliant.yaml" --ignore-not-found >/dev/null 2>&1 || true
  elif printf '%s' "$out" | grep -q "denied the request"; then
    denied="$out"
    break
  fi
  sleep 0.5
done
[ -n "$denied" ] || die "the non-compliant Deployment was not denied; last output: ${out:-none}"
printf '%s\n' "$denied" | sed 's/^/    /'

# ---- 8. what next ---------------------------------------------------------------------------------
step "try it yourself"
cat <<EOF
    In another terminal:

      export KUBECONFIG=$KUBECONFIG
      export PATH=$bins:$target:\$PATH
      kubectl get hipaapolicies
      kubectl describe hipaapolicy phi-onboarding
      # denied, one line per failed control with its 45 CFR section:
      kubectl apply -f $root/$samples/workloads/billing-non-compliant.yaml
      # any change to the PHI workload in development is admitted, with warnings (Warn policy):
      kubectl -n sandbox annotate deployment patient-import example.com/reviewed=yes --overwrite
      # removing the last isolation of PHI pods is denied too:
      kubectl -n billing delete networkpolicy default-deny-ingress
      # the same checks offline, as in CI:
      kubectl hipaa scan -f $root/$samples/workloads/
      # metrics of the webhook and the operator:
      curl -s http://127.0.0.1:$webhook_admin_port/metrics | grep '^hipaaguard_'
      curl -s http://127.0.0.1:$operator_admin_port/metrics | grep '^hipaaguard_'

    Logs: $state/logs/ (operator.log, webhook.log, localcluster.log)
    Chart values used: deploy/demo/values-local.yaml; samples: $samples/
EOF

if [ "$interactive" = 0 ]; then
  step "DEMO_NONINTERACTIVE is set: done"
  exit 0
fi
step "running; press Ctrl-C to tear everything down"
while kill -0 "${pids[0]}" 2>/dev/null; do
  sleep 2 &
  wait $! || true
done
die "hipaa-localcluster stopped unexpectedly"

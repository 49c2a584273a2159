#!/usr/bin/env bash
# The local demo (`make demo`): HIPAA Guard end to end on this machine, no cloud account needed.
#
# Builds what it needs (first run only), starts a real etcd + kube-apiserver and a local AWS
# endpoint (moto) seeded with an EKS cluster, ECR repositories, Secrets Manager secrets, the
# workloads' IAM roles and the buckets and table they reach, installs the Helm chart (CRD,
# ServiceAccounts, RBAC, webhook configuration), runs the operator and the webhook as local
# processes with their ServiceAccounts' tokens, applies sample policies and workloads, shows
# `kubectl get hipaapolicies`, the AWS data each policy's workloads reach and a rejected
# `kubectl apply`, then waits. Ctrl-C tears everything down.
#
# Environment:
#   DEMO_NONINTERACTIVE=1   exit (and tear down) after printing, instead of waiting (make demo-ci)
#   DEMO_PROFILE=release    build and run release binaries (default: debug, quicker to build)
#   DEMO_SKIP_BUILD=1       use the binaries already in DEMO_TARGET_DIR (default target/<profile>)
#   DEMO_KEEP=1             keep the state directory (kubeconfig, logs) after teardown
#   HIPAA_GUARD_K8S_BIN     control-plane binaries (default: built by tests/controlplane/build.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh

profile="${DEMO_PROFILE:-debug}"
target="${DEMO_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/$profile}"

# ---- 1. build -----------------------------------------------------------------------------------
make_state_dir
step "building: control plane (etcd, kube-apiserver, kubectl, helm, moto) and HIPAA Guard ($profile)"
use_control_plane_binaries
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
free_port() { "$moto_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_ok() { "$moto_python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" 2>/dev/null; }

# ---- 2. control plane and AWS -------------------------------------------------------------------
step "starting the local control plane (etcd + kube-apiserver) and the local AWS endpoint (moto)"
start_localcluster 180
seed_aws

# ---- 3. the chart ---------------------------------------------------------------------------------
webhook_port="$(free_port)"
webhook_admin_port="$(free_port)"
operator_admin_port="$(free_port)"
step "helm install $release charts/hipaa-guard (CRD, ServiceAccounts, RBAC)"
note "no kubelet runs pods here, so the Deployments are off (deploy/demo/values-local.yaml); the operator"
note "registers the webhook configuration, calling the local webhook at https://127.0.0.1:$webhook_port/validate"
helm install "$release" charts/hipaa-guard --namespace "$namespace" --create-namespace \
  --values deploy/demo/values-local.yaml \
  --set "admission.url=https://127.0.0.1:$webhook_port/validate" \
  --set-file "certificates.provided.caBundle=$state/cluster/webhook/ca.crt" \
  >"$state/logs/helm-install.log" 2>&1 || { cat "$state/logs/helm-install.log" >&2; die "helm install failed"; }
helm list --namespace "$namespace" | sed "s/^/    /"
# The CRD is a template of the release (docs/upgrades.md): without --wait, helm returns before the API
# server serves HipaaPolicies, and the operator started below stops at once when it does not.
kubectl wait --for=condition=Established --timeout=60s crd/hipaapolicies.hipaaguard.io >/dev/null \
  || die "the HipaaPolicy CRD was not Established within 60s"

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
  RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 HIPAA_GUARD_LOG_FORMAT=text \
  "$target/hipaa-webhook" --tls-cert "$state/cluster/webhook/tls.crt" --tls-key "$state/cluster/webhook/tls.key" \
  --listen "127.0.0.1:$webhook_port" --admin-listen "127.0.0.1:$webhook_admin_port"
start operator "$state/logs/operator.log" env KUBECONFIG="$operator_kubeconfig" POD_NAMESPACE="$namespace" \
  POD_NAME="hipaa-operator-local" RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 HIPAA_GUARD_LOG_FORMAT=text \
  "$target/hipaa-operator" --admin-listen "127.0.0.1:$operator_admin_port" --leader-elect \
  --lease-name "$release-operator" \
  --webhook-configuration "$release" --webhook-configuration-owner "$release-operator" \
  --webhook-url "https://127.0.0.1:$webhook_port/validate" \
  --certificates file --ca-bundle-file "$state/cluster/webhook/ca.crt"
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

# ---- 5. the story: workloads, then policies; the audit; a denial --------------------------------
apply_samples
show_audits hipaa-operator "${pids[2]}"
show_denial

# ---- 6. what next ---------------------------------------------------------------------------------
step "try it yourself"
cat <<EOF
    In another terminal:

      export KUBECONFIG=$KUBECONFIG
      export PATH=$bins:$target:\$PATH
      kubectl get hipaapolicies
      kubectl describe hipaapolicy phi-onboarding
      # the findings as PolicyReports, one per governed namespace:
      kubectl get policyreports -A
      # denied, one line per failed control with its 45 CFR section:
      kubectl apply -f $root/$samples/workloads/billing-non-compliant.yaml
      # any change to the PHI workload in development is admitted, with warnings (Warn policy):
      kubectl -n sandbox annotate deployment patient-import example.com/reviewed=yes --overwrite
      # removing the last isolation of PHI pods is denied too:
      kubectl -n billing delete networkpolicy default-deny-ingress
      # the same checks offline, as in CI:
      kubectl hipaa scan -f $root/$samples/workloads/
      # evidence for auditors by 45 CFR section, with the AWS data stores and the paths to them:
      kubectl hipaa report
      # metrics of the webhook and the operator:
      curl -s http://127.0.0.1:$webhook_admin_port/metrics | grep '^hipaaguard_'
      curl -s http://127.0.0.1:$operator_admin_port/metrics | grep '^hipaaguard_'

    Logs: $state/logs/ (operator.log, webhook.log, localcluster.log)
    Chart values used: deploy/demo/values-local.yaml; samples: $samples/
EOF

finish

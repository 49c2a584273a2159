#!/usr/bin/env bash
# The in-cluster demo (`make demo-cluster`): the same story as `make demo`, told by HIPAA Guard
# installed the way users install it. Starts a real single-node cluster on this machine (etcd,
# kube-apiserver, controller-manager, scheduler, containerd + kubelet, kube-proxy: the test
# harness's node, tests/src/node.rs), imports the images of `make images`, binds the local AWS
# endpoint (moto) on the node's address so that the operator's pods reach it, `helm install`s the
# chart with those images (the webhook and the operator run as pods), applies the sample workloads
# and policies, shows `kubectl get hipaapolicies`, a rejected `kubectl apply` and the product's
# pods, then waits. Ctrl-C tears everything down and the node's janitor restores the host.
#
# Needs root (containerd, runc, iptables, mounts), and only one node runs per machine: it waits
# for another one (an in-cluster test run) to finish. Traffic stays on this machine: the samples'
# images name an ECR account that does not exist, so a ResourceQuota of zero pods in the sample
# namespaces keeps their pods from being created (containerd would otherwise try to pull them).
#
# Environment:
#   DEMO_NONINTERACTIVE=1   exit (and tear down) after printing, instead of waiting
#   DEMO_SKIP_BUILD=1       use the images in target/images and the binaries in DEMO_TARGET_DIR
#                           (default target/debug) as they are; fails if they are missing
#   DEMO_KEEP=1             keep the state directory (kubeconfig, logs) after teardown
#   HIPAA_GUARD_K8S_BIN     control-plane and node binaries (default: built by tests/controlplane/build.sh)
#   HIPAA_GUARD_IMAGES      the images' directory (default target/images)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh

target="${DEMO_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/debug}"
images="${HIPAA_GUARD_IMAGES:-$root/target/images}"
export HIPAA_GUARD_IMAGES="$images"

[ "$(id -u)" = 0 ] || die "make demo-cluster runs a real node (containerd, runc, iptables, mounts) and needs root: run it as root; make demo needs no root"

# After teardown: the node's janitor restores the host once hipaa-localcluster is gone. Wait for
# every process of the run to end (its servers, containerd's shims, the janitor), then check the host
# under the node's lock (tests/src/node/host.rs), so that the host is as it was when this returns.
node_lock=/var/lib/hipaa-guard-node.lock
demo_after_teardown() {
  [ -n "${HIPAA_LOCALCLUSTER_LOGS:-}" ] || return 0
  local run out status deadline=$((SECONDS + 60))
  run="$(dirname "$HIPAA_LOCALCLUSTER_LOGS")"
  while run_processes_left "$run"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      note "processes of the node still run after 60s; check with: bash tests/controlplane/node/host.sh check"
      return 1
    fi
    sleep 0.3
  done
  status=0
  out="$(flock -n -E 75 "$node_lock" bash tests/controlplane/node/host.sh check 2>&1)" || status=$?
  case "$status" in
    0) note "the node is gone and the host restored" ;;
    75) note "the node is gone; another node (a test?) runs on this machine now" ;;
    *) note "the node left something on the host: $out"
       note "bash tests/controlplane/node/host.sh down clears it"
       return 1 ;;
  esac
}
# Whether a process of the run whose directory is RUN is left: its environment carries the
# harness's run marker, or its command line names RUN (the node's janitor: its log is in RUN).
run_processes_left() {
  grep -qsxzF -- "HIPAA_TESTKIT_RUN=$1" /proc/[0-9]*/environ && return 0
  local f
  for f in /proc/[0-9]*/cmdline; do
    case "$( { tr '\0' ' ' <"$f"; } 2>/dev/null)" in *"$1"*) return 0 ;; esac
  done
  return 1
}

# ---- 1. build -----------------------------------------------------------------------------------
make_state_dir
step "building: control plane and node (etcd, kube-apiserver, kubelet, ...), the images and hipaa-localcluster"
bash tests/controlplane/node/packages.sh || die "the node's Debian packages are missing (see above)"
use_control_plane_binaries kubelet kube-proxy kube-controller-manager kube-scheduler
archives_present() {
  local name
  for name in hipaa-webhook hipaa-operator pause; do [ -f "$images/$name.tar" ] || return 1; done
}
if [ "${DEMO_SKIP_BUILD:-0}" = 0 ]; then
  note "scripts/build-images.sh (static release binaries; the first build takes minutes)"
  bash scripts/build-images.sh >"$state/logs/build-images.log" 2>&1 || die "make images failed (its log is below)"
  cargo build --locked -p hipaa-testkit -p kubectl-hipaa --bins || die "cargo build failed"
fi
archives_present || die "the images are missing from $images: run make images (or unset DEMO_SKIP_BUILD)"
[ -x "$target/hipaa-localcluster" ] \
  || die "$target/hipaa-localcluster is missing: run cargo build -p hipaa-testkit --bins (or unset DEMO_SKIP_BUILD)"

# ---- 2. the node and AWS ------------------------------------------------------------------------
step "starting a real node (etcd, kube-apiserver, controller-manager, scheduler, containerd + kubelet, kube-proxy) and moto"
start_localcluster 1200 --node
note "images imported into the node: hipaa-guard/{hipaa-webhook,hipaa-operator,pause}:$HIPAA_IMAGE_TAG"
seed_aws

# ---- 3. the chart, with the built images --------------------------------------------------------
# The operator's pods call moto on the node's address with static test credentials, as the local
# operator of `make demo` does through its environment; nothing reads instance metadata.
values="$state/values-node.yaml"
{
  echo "operator:"
  echo "  extraEnv:"
  for var in AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED \
    AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE; do
    printf '    - {name: %s, value: "%s"}\n' "$var" "${!var}"
  done
} >"$values"
step "helm install $release charts/hipaa-guard --wait   (the webhook and the operator as pods, images $HIPAA_IMAGE_TAG)"
note "the operator's AWS endpoint: $AWS_ENDPOINT_URL (moto on the node's address)"
helm install "$release" charts/hipaa-guard --namespace "$namespace" --create-namespace \
  --set "webhook.image.tag=$HIPAA_IMAGE_TAG" --set "operator.image.tag=$HIPAA_IMAGE_TAG" \
  --set webhook.image.pullPolicy=Never --set operator.image.pullPolicy=Never \
  --set aws.region=us-east-1 --set logFormat=text --values "$values" \
  --wait --timeout 5m >"$state/logs/helm-install.log" 2>&1 \
  || { cat "$state/logs/helm-install.log" >&2; kubectl get pods -n "$namespace" -o wide >&2 || true; die "helm install failed"; }
helm list --namespace "$namespace" | sed "s/^/    /"

# ---- 4. the story: workloads, then policies; the audit; a denial --------------------------------
# The samples' Deployments and CronJobs are judged as objects; their pods would need images from an
# ECR account that does not exist, and pulling them would reach off this machine: no pods there.
demo_after_namespaces() {
  local ns
  for ns in billing claims sandbox; do
    printf 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: demo-no-pods, namespace: %s}\nspec: {hard: {pods: "0"}}\n' "$ns"
    printf -- '---\n'
  done | kubectl apply -f - | sed 's/^/    /'
}
apply_samples
show_audits hipaa-localcluster "${pids[0]}"
show_denial

step "kubectl get pods -n $namespace -o wide   (HIPAA Guard runs as pods on the node)"
kubectl get pods -n "$namespace" -o wide
note "the samples' namespaces (billing, claims, sandbox) run no pods (ResourceQuota demo-no-pods): their images"
note "are in an ECR account that does not exist; admission and the audit judge the objects, not running containers"

# ---- 5. what next ---------------------------------------------------------------------------------
step "try it yourself"
cat <<EOF
    In another terminal (as root):

      export KUBECONFIG=$KUBECONFIG
      export PATH=$bins:$target:\$PATH
      kubectl get hipaapolicies
      kubectl describe hipaapolicy phi-onboarding
      # denied by the webhook pods, one line per failed control with its 45 CFR section:
      kubectl apply -f $root/$samples/workloads/billing-non-compliant.yaml
      # removing the last isolation of PHI pods is denied too:
      kubectl -n billing delete networkpolicy default-deny-ingress
      # the product's pods, their logs, and the operator's leader:
      kubectl -n $namespace get pods,services,leases
      kubectl -n $namespace logs deployment/$release-operator
      # metrics, through the API server's Service proxy:
      kubectl get --raw /api/v1/namespaces/$namespace/services/$release-webhook:metrics/proxy/metrics | grep '^hipaaguard_'
      # the same checks offline, as in CI:
      kubectl hipaa scan -f $root/$samples/workloads/
      # evidence for auditors by 45 CFR section, with the AWS data stores and the paths to them:
      kubectl hipaa report

    Logs: $state/logs/ (localcluster.log, helm-install.log); the node's: $HIPAA_LOCALCLUSTER_LOGS
    Chart values used: --set image tags and pullPolicy=Never, aws.region, $values; samples: $samples/
EOF

finish

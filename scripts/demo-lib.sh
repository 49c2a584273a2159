# Shared by the two demos, sourced (not run) from the repository root: scripts/demo.sh (`make demo`:
# the webhook and the operator as local processes beside a bare API server) and
# scripts/demo-cluster.sh (`make demo-cluster`: the chart's pods on a real node). Both tell the same
# story with the same samples, so the story lives here once: output helpers, teardown, the local
# cluster's start, AWS seeding, the sample objects, the wait for the operator's audit, the policies
# table, the AWS data the workloads reach and the denied apply.
#
# The caller sets `target` (where hipaa-localcluster is) before start_localcluster, may define
# demo_after_teardown (run after its processes are stopped; failing fails the run), and calls the
# steps in order.
# shellcheck shell=bash

root="$PWD"
interactive=1
if [ "${DEMO_NONINTERACTIVE:-0}" != 0 ]; then interactive=0; fi
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
demo_after_teardown() { :; }
# Runs once the sample namespaces exist, before their workloads (demo-cluster: no pods there).
demo_after_namespaces() { :; }
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
    # Newest first: what talks to the cluster stops before the cluster.
    for (( i=${#pids[@]}-1; i>=0; i-- )); do
      stop_process "${pids[$i]}"
    done
    # A host the teardown did not restore fails the run (an interrupt keeps its own status).
    if ! demo_after_teardown && [ "$status" -eq 0 ]; then status=1; fi
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

# The demo's state directory: logs, the cluster's files, helm's homes.
make_state_dir() {
  state="$(mktemp -d "${TMPDIR:-/tmp}/hipaa-guard-demo.XXXXXX")"
  mkdir -p "$state/logs"
  # Helm's own files stay in the demo's state directory, away from the user's.
  export HELM_CACHE_HOME="$state/helm/cache" HELM_CONFIG_HOME="$state/helm/config" HELM_DATA_HOME="$state/helm/data"
}

# Sets `bins` to the control-plane binaries (building them on the first run) and defines the tools
# on them: kubectl, helm, and moto's Python (which has boto3) as moto_python.
use_control_plane_binaries() {
  if [ -z "${HIPAA_GUARD_K8S_BIN:-}" ]; then
    note "tests/controlplane/build.sh (the first run builds from source and takes minutes; then cached)"
    HIPAA_GUARD_K8S_BIN="$(bash tests/controlplane/build.sh 2>"$state/logs/controlplane-build.log" | tail -n 1)" \
      || die "the control-plane build failed (its log is below)"
  fi
  bins="$HIPAA_GUARD_K8S_BIN"
  local tool
  for tool in kubectl helm moto_server "$@"; do
    [ -x "$bins/$tool" ] || die "$bins/$tool is missing; run: bash tests/controlplane/build.sh"
  done
  moto_python="$(dirname "$(readlink -f "$bins/moto_server")")/python"
  [ -x "$moto_python" ] || die "moto's virtualenv has no python at $moto_python; rerun tests/controlplane/build.sh"
}
kubectl() { "$bins/kubectl" "$@"; }
helm() { "$bins/helm" "$@"; }

# start_localcluster TIMEOUT_SECONDS [ARGS...]: starts hipaa-localcluster (pids[0]), waits for its
# cluster.env and sources it (KUBECONFIG, K8S_SERVER, AWS_*, ...).
start_localcluster() {
  local timeout="$1" waiting_said=0; shift
  HIPAA_GUARD_K8S_BIN="$bins" start localcluster "$state/logs/localcluster.log" \
    "$target/hipaa-localcluster" --state-dir "$state/cluster" "$@"
  local deadline=$((SECONDS + timeout))
  until [ -f "$state/cluster/cluster.env" ]; do
    kill -0 "${pids[0]}" 2>/dev/null || die "hipaa-localcluster exited during start-up"
    [ "$SECONDS" -lt "$deadline" ] || die "the cluster was not ready within ${timeout}s"
    # The node is one per machine: say so when it waits for another one (a test run) to end.
    if [ "$waiting_said" = 0 ] && grep -q "another node runs on this machine" "$state/logs/localcluster.log"; then
      note "another node runs on this machine (an in-cluster test?): waiting for it to finish"
      waiting_said=1
    fi
    sleep 0.2
  done
  # shellcheck disable=SC1091
  source "$state/cluster/cluster.env"
  note "API server $K8S_SERVER, AWS endpoint $AWS_ENDPOINT_URL"
}

seed_aws() {
  step "seeding AWS: EKS cluster, KMS key, ECR, Secrets Manager, IAM roles, S3 buckets, a DynamoDB table, the account's safeguards"
  "$moto_python" deploy/demo/seed_aws.py || die "seeding moto failed"
}

# ---- the story --------------------------------------------------------------------------------------
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
apply_samples() {
  step "kubectl apply: namespaces (billing: PHI production, claims: PHI onboarding, sandbox: development)"
  apply_with_retry -f "$samples/namespaces.yaml" -f "$samples/storageclass.yaml"
  demo_after_namespaces
  step "kubectl apply: the workloads already running (compliant billing, legacy claims, PHI in sandbox)"
  apply_with_retry -f "$samples/workloads/billing-compliant.yaml" -f "$samples/workloads/claims-legacy.yaml" \
    -f "$samples/workloads/sandbox-phi.yaml"
  step "kubectl apply: HipaaPolicies (phi-production: Enforce, phi-onboarding: Audit, no-phi-in-development: Warn)"
  apply_with_retry -f "$samples/policies/"
  # moto 5.2.5 serves neither an EKS cluster's accessConfig nor its access entries, so nothing here
  # can say who administers hipaa-demo: those two controls would only report Error. On EKS they
  # judge the real cluster (tests/tests/aws_cases/eks_access.rs proves them through a proxy).
  # Nor does it serve EKS Pod Identity associations (ListPodIdentityAssociations answers 404):
  # without them a role bound to a billing pod that way could be missing, so a policy naming the
  # cluster reports its IAM wildcard controls as Error rather than judge a partial list of roles.
  # phi-onboarding names no cluster and shows them (claims' role grants s3:* on *).
  step "kubectl patch: phi-production without the EKS access and IAM wildcard controls (moto lacks their EKS APIs)"
  kubectl patch hipaapolicy phi-production --type=json -p '[
    {"op": "add", "path": "/spec/controls/-", "value": {"id": "HIPAA-EKS-ACCESS-ADMIN", "disabled": true}},
    {"op": "add", "path": "/spec/controls/-", "value": {"id": "HIPAA-EKS-AUTH-MODE", "disabled": true}},
    {"op": "add", "path": "/spec/controls/-", "value": {"id": "HIPAA-IAM-DATA-WILDCARD-ACTION", "disabled": true}},
    {"op": "add", "path": "/spec/controls/-", "value": {"id": "HIPAA-IAM-DATA-WILDCARD-RESOURCE", "disabled": true}}
  ]' | sed 's/^/    /'
  # moto 5.2.5 answers GetBucketVersioning under a root element the AWS SDK for Rust rejects, so a
  # bucket without Object Lock (claims-uploads) can only judge as Error there: phi-onboarding does
  # without that one control. The compliant buckets pass it through Object Lock (seed_aws.py).
  step "kubectl patch: phi-onboarding without HIPAA-S3-VERSIONING (moto answers GetBucketVersioning malformed)"
  kubectl patch hipaapolicy phi-onboarding --type=json -p '[
    {"op": "add", "path": "/spec/controls", "value": [{"id": "HIPAA-S3-VERSIONING", "disabled": true}]}
  ]' | sed 's/^/    /'
}

# show_audits NAME PID: waits until every policy has been audited and its status has held still
# for two polls (a change seen late triggers another audit within a second), while process PID
# (NAME: what runs the operator) lives; then prints the table and phi-onboarding's findings.
show_audits() {
  step "waiting for the operator's audit of each policy"
  local deadline=$((SECONDS + 120)) previous="" current
  while :; do
    kill -0 "$2" 2>/dev/null || die "$1 exited"
    current="$(kubectl get hipaapolicies -o jsonpath='{range .items[*]}{.metadata.name}={.status.lastAuditTime},{.status.summary}{"\n"}{end}')"
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
    print("    %-32s %s %s" % (v.get("control", ""), v.get("kind", ""), where))
'
  # The same findings as PolicyReports (written after the status), where Policy Reporter and other
  # tools read them: one per governed namespace and policy.
  local deadline=$((SECONDS + 60))
  until kubectl get policyreport hipaa-guard-phi-onboarding --namespace claims >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "no PolicyReport for phi-onboarding in claims within 60s"
    sleep 1
  done
  step "kubectl get policyreports -A   (the findings as PolicyReports, for Policy Reporter and kubectl)"
  kubectl get policyreports -A
  show_data_stores phi-production phi-onboarding
}

# show_data_stores POLICY...: the AWS data each policy's workloads reach, one line per store as
# status.awsResources lists it (kind, name, result, failed controls) and who reaches it by which
# IAM role (linkedBy), then the account's safeguards.
show_data_stores() {
  step "the AWS data the workloads reach (status.awsResources: workload → IAM role → store)"
  local policy
  for policy in "$@"; do
    kubectl get hipaapolicy "$policy" -o json | "$moto_python" -c '
import json, sys
STORES = ["S3Bucket", "RDSInstance", "RDSCluster", "DynamoDBTable", "EFSFileSystem", "ALB", "IAMRole", "AWSAccount"]
ACCOUNT = {"HIPAA-AWS-CLOUDTRAIL": "CloudTrail", "HIPAA-AWS-LOG-RETENTION": "EKS log retention",
           "HIPAA-AWS-GUARDDUTY": "GuardDuty", "HIPAA-AWS-EBS-DEFAULT-ENCRYPTION": "EBS encryption by default"}
policy = json.load(sys.stdin)
judged = [ACCOUNT[c["id"]] for c in (policy.get("status") or {}).get("controls") or []
          if c.get("id") in ACCOUNT and c.get("result") not in ("NotEvaluated", "Disabled")]
# A resource nothing links and no control judged (the stand-in for the Pod Identity associations
# moto cannot list, once its controls are off) tells the reader nothing.
resources = [r for r in (policy.get("status") or {}).get("awsResources") or []
             if r.get("kind") in STORES and (r.get("linkedBy") or r.get("result") != "NotEvaluated")]
resources.sort(key=lambda r: (STORES.index(r["kind"]), r.get("name", "")))
print("    %s" % policy["metadata"]["name"])
short = lambda arn: arn.split(":")[-1] if arn.startswith("arn:") else arn
for r in resources:
    result = r.get("result", "")
    if r.get("failedControls"):
        result += " (" + ", ".join(c.replace("HIPAA-", "") for c in r["failedControls"]) + ")"
    paths = {}
    for link in r.get("linkedBy") or []:
        who = "%s %s/%s" % (link.get("kind"), link.get("namespace"), link.get("name"))
        how = link.get("via", "") + (" " + short(link["role"]) if link.get("role") else "")
        paths.setdefault(how, []).append(who)
    reach = "; ".join("%s via %s" % (", ".join(sorted(who)), how) for how, who in sorted(paths.items()))
    print("      %-13s %-22s %s" % (r["kind"], short(r.get("name", "")), result))
    if reach:
        print("        <- " + reach)
    if r["kind"] == "AWSAccount":
        print("        judged: " + ", ".join(judged))
' || die "cannot read the status of $policy"
  done
}

# The non-compliant Deployment, denied at admission (retried while the webhook's caches catch up).
show_denial() {
  step "kubectl apply -f $samples/workloads/billing-non-compliant.yaml   (billing is governed by phi-production: Enforce)"
  local denied="" out=""
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
}

# The end: exit (tearing down) with DEMO_NONINTERACTIVE, else wait for Ctrl-C.
finish() {
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
}

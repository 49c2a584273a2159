#!/usr/bin/env bash
# Builds the real control-plane binaries the tests run against (kube-apiserver,
# kubectl, etcd, helm), the node's (kubelet, kube-controller-manager,
# kube-scheduler, kube-proxy), promtool (the chart's alert rules' unit tests)
# from the pinned Go modules beside this script, and a project-local virtualenv
# with moto's server. Everything lands in a cache
# directory keyed by version; what is already there is reused.
#
# Prints the cache directory on its last line of stdout. Progress goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_VERSION="v1.35.4"
HELM_VERSION="v3.19.5"
MOTO_VERSION="5.2.5"
# Prometheus 3.16.0 is the Go module github.com/prometheus/prometheus v0.316.0 (promtool/go.mod).
PROMTOOL_VERSION="3.16.0"
cache_root="${HIPAA_GUARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hipaa-guard}"
bin="$cache_root/k8s-$K8S_VERSION"
helm_bin="$cache_root/helm-$HELM_VERSION"
promtool_bin="$cache_root/promtool-v$PROMTOOL_VERSION"
moto_reqs="$here/moto/requirements.txt"
venv="$cache_root/moto-$MOTO_VERSION-$(sha256sum "$moto_reqs" | cut -c1-8)"

say() { printf '[controlplane] %s\n' "$*" >&2; }
die() { printf '[controlplane] error: %s\n' "$*" >&2; exit 1; }
cached="" # what was already built, reported in one line
node_cmds="kube-scheduler kube-proxy kube-controller-manager kubelet"

command -v go >/dev/null || die "Go is required to build kube-apiserver, etcd, kubectl and helm (Go 1.26+)"
command -v python3 >/dev/null || die "python3 is required for the moto AWS endpoint"
mkdir -p "$bin" "$helm_bin" "$promtool_bin"
# Test binaries may call this script concurrently: one builds, the others wait and reuse.
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.build.lock"
  flock -n 9 || { say "another build holds $cache_root/.build.lock; waiting for it"; flock 9; }
fi
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"

k8s_ldflags() {
  local v="$1" maj min x c
  maj="${v#v}"; maj="${maj%%.*}"; min="${v#v*.}"; min="${min%%.*}"
  x="-X k8s.io/component-base/version"; c="-X k8s.io/client-go/pkg/version"
  printf -- '-s -w %s ' \
    "$x.gitVersion=$v" "$x.gitMajor=$maj" "$x.gitMinor=$min" "$x.gitTreeState=clean" "$x.buildDate=1970-01-01T00:00:00Z" \
    "$c.gitVersion=$v" "$c.gitMajor=$maj" "$c.gitMinor=$min" "$c.gitTreeState=clean" "$c.buildDate=1970-01-01T00:00:00Z"
}

build() { # build NAME OUTDIR MODULE_DIR PACKAGE LDFLAGS [TAGS]
  local name="$1" out="$2/$1" dir="$3" pkg="$4" ldflags="$5" tags="${6:-}" start
  if [ -x "$out" ]; then cached="$cached $name"; return; fi
  start=$(date +%s)
  say "$name: building $pkg (first build takes minutes)"
  (cd "$dir" && go build -mod=readonly -trimpath -tags "$tags" -ldflags "$ldflags" -o "$out.tmp" "$pkg") \
    || die "$name: go build failed (see above); is the Go module proxy reachable?"
  mv "$out.tmp" "$out"
  say "$name: built in $(( $(date +%s) - start ))s"
}

build etcd "$bin" "$here/k8s" go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver "$bin" "$here/k8s" k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags "$K8S_VERSION")"
build kubectl "$bin" "$here/k8s" k8s.io/kubernetes/cmd/kubectl "$(k8s_ldflags "$K8S_VERSION")"
# The node of the in-cluster tests (tests/README.md): same module, same version stamp.
for node_cmd in $node_cmds; do
  build "$node_cmd" "$bin" "$here/k8s" "k8s.io/kubernetes/cmd/$node_cmd" "$(k8s_ldflags "$K8S_VERSION")"
done
# helm's default .Capabilities.KubeVersion (helm template, lint) follows the pinned Kubernetes.
hv="helm.sh/helm/v3/internal/version"; k8s_minor="${K8S_VERSION#v*.}"; k8s_minor="${k8s_minor%%.*}"
build helm "$helm_bin" "$here/helm" helm.sh/helm/v3/cmd/helm \
  "-s -w -X $hv.version=$HELM_VERSION -X $hv.gitTreeState=clean \
   -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor \
   -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
ln -sf "$helm_bin/helm" "$bin/helm"
# promtool for `promtool test rules` (tests/tests/alerts_e2e.rs). remove_all_sd leaves out the
# service discoveries Prometheus's plugins package registers (AWS, Azure, GCE, Consul, ...): 1,117
# packages instead of 1,364; promtool still links file and Kubernetes discovery directly.
build promtool "$promtool_bin" "$here/promtool" github.com/prometheus/prometheus/cmd/promtool \
  "-s -w -X github.com/prometheus/common/version.Version=$PROMTOOL_VERSION" remove_all_sd
ln -sf "$promtool_bin/promtool" "$bin/promtool"

if [ ! -e "$venv/.installed" ]; then
  say "moto: installing moto[server]==$MOTO_VERSION (pins: $moto_reqs) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "moto: python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$moto_reqs" \
    || die "moto: pip install failed; is PyPI reachable?"
  touch "$venv/.installed"
else
  cached="$cached moto"
fi
ln -sf "$venv/bin/moto_server" "$bin/moto_server"

expect_version() { # expect_version NAME WANTED ACTUAL
  [ "$3" = "$2" ] || die "$1 reports version '$3', expected '$2'; delete it from $bin (or $helm_bin, $promtool_bin) and rerun"
  [ "$cached" = " etcd kube-apiserver kubectl $node_cmds helm promtool moto" ] || say "$1: $3"
}
expect_version kube-apiserver "Kubernetes $K8S_VERSION" "$("$bin/kube-apiserver" --version)"
for node_cmd in $node_cmds; do
  expect_version "$node_cmd" "Kubernetes $K8S_VERSION" "$("$bin/$node_cmd" --version)"
done
expect_version kubectl "$K8S_VERSION" "$("$bin/kubectl" version --client -o json | sed -n 's/^ *"gitVersion": "\(.*\)",$/\1/p')"
expect_version helm "$HELM_VERSION" "$("$bin/helm" version --template '{{.Version}}')"
expect_version promtool "promtool, version $PROMTOOL_VERSION" "$("$bin/promtool" --version | head -1 | cut -d' ' -f1-3)"
expect_version etcd "etcd Version: $(cd "$here/k8s" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3 | sed 's/^v//')" \
  "$("$bin/etcd" --version | head -1)"
expect_version moto "$MOTO_VERSION" "$("$venv/bin/python" -c 'import moto; print(moto.__version__)')"
[ -z "$cached" ] || say "cached in $cache_root:$cached"
echo "$bin"

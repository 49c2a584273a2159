#!/usr/bin/env bash
# Builds HIPAA Guard's container images (`make images`) with no container engine and no registry:
# static binaries built on this host, staged in target/image-context/, packed onto an empty base by
# scripts/oci_image.py from deploy/Dockerfile. Nothing is pulled, ever.
#
# Writes (TAG: IMAGE_TAG, default the chart's appVersion):
#   target/images/hipaa-webhook.tar    hipaa-guard/hipaa-webhook:TAG
#   target/images/hipaa-operator.tar   hipaa-guard/hipaa-operator:TAG
#   target/images/pause.tar            hipaa-guard/pause:TAG  (local test node and demo only)
#   target/images/images.env           those refs and paths, for `source` by the test harness
# Each archive loads with `ctr -n k8s.io images import` or `docker load`; containerd and kubelet
# normalise the names, so no registry host is written anywhere.
#
# Options (or environment):
#   --docker (IMAGES_DOCKER=1)  also `docker build` the two product images from the same context;
#                               fails if docker is not usable. Never needed otherwise.
#   IMAGE_TAG                   the tag of all three images
#   CA_BUNDLE                   the CA bundle to ship (default: Debian's, /etc/ssl/certs/ca-certificates.crt)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }
die() { echo "build-images: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

docker_build="${IMAGES_DOCKER:-0}"
for arg in "$@"; do
  case "$arg" in
    --docker) docker_build=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument: $arg (see --help)" ;;
  esac
done

# The gnu triple, named explicitly: with --target, cargo applies RUSTFLAGS to the target only, so
# build scripts and proc-macros stay dynamic host programs, and the static release build lives in
# target/x86_64-unknown-linux-gnu/ without invalidating the debug build of `make test`.
# Static glibc rather than musl: the musl target is not installable here, and static glibc still
# resolves /etc/hosts and DNS itself (docs/images.md).
triple=x86_64-unknown-linux-gnu
arch=amd64
target_dir="${CARGO_TARGET_DIR:-target}"
context=target/image-context
out=target/images
ca="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

command -v python3 >/dev/null || die "python3 (3.11+) is required: it runs scripts/oci_image.py"
command -v gcc >/dev/null || die "gcc is required to build the pause image (deploy/pause/pause.c)"
[ -f "$ca" ] || die "CA bundle $ca not found: install Debian's ca-certificates package, or set CA_BUNDLE to a PEM bundle"

app_version="$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}[[:space:]]*$/\1/p' charts/hipaa-guard/Chart.yaml)"
[ -n "$app_version" ] || die "no appVersion in charts/hipaa-guard/Chart.yaml"
tag="${IMAGE_TAG:-$app_version}"
webhook_ref="hipaa-guard/hipaa-webhook:$tag"
operator_ref="hipaa-guard/hipaa-operator:$tag"
# Same tag as the product images, so there is no second version to remember to bump.
pause_ref="hipaa-guard/pause:$tag"

total_start="$(now)"
step "static release binaries: cargo build --release --target $triple (crt-static)"
t="$(now)"
# The revision both binaries report in their *_build_info metric (unknown outside a git checkout).
revision="$(git rev-parse --short=12 HEAD 2>/dev/null || true)"
env -u CARGO_ENCODED_RUSTFLAGS RUSTFLAGS="-C target-feature=+crt-static" HIPAA_GUARD_REVISION="$revision" \
  cargo build --release --locked --target "$triple" -p hipaa-webhook -p hipaa-operator
echo "cargo build: $(since "$t")"
bin_dir="$target_dir/$triple/release"

step "pause: gcc -static -Os deploy/pause/pause.c"
mkdir -p "$target_dir/pause"
gcc -static -Os -s -Wall -Wextra -Werror -o "$target_dir/pause/pause" deploy/pause/pause.c

step "checking the binaries are static and run"
python3 scripts/oci_image.py check-static --arch "$arch" \
  "$bin_dir/hipaa-webhook" "$bin_dir/hipaa-operator" "$target_dir/pause/pause"
if command -v file >/dev/null; then
  file "$bin_dir/hipaa-webhook" "$bin_dir/hipaa-operator" "$target_dir/pause/pause"
fi
# Each runs once: a binary that starts on the host but not in the image would otherwise pass.
"$bin_dir/hipaa-webhook" --help >/dev/null || die "hipaa-webhook --help failed"
"$bin_dir/hipaa-operator" --help >/dev/null || die "hipaa-operator --help failed"
"$target_dir/pause/pause" --version || die "pause --version failed"

step "staging the build context: $context"
rm -rf "$context"
mkdir -p "$context"
install -m 0755 "$bin_dir/hipaa-webhook" "$bin_dir/hipaa-operator" "$target_dir/pause/pause" "$context/"
install -m 0644 "$ca" "$context/ca-certificates.crt"
ls -l "$context"

step "writing the images (scripts/oci_image.py)"
mkdir -p "$out"
python3 scripts/oci_image.py build --dockerfile deploy/Dockerfile --target webhook \
  --context "$context" --tag "$webhook_ref" --arch "$arch" --output "$out/hipaa-webhook.tar"
python3 scripts/oci_image.py build --dockerfile deploy/Dockerfile --target operator \
  --context "$context" --tag "$operator_ref" --arch "$arch" --output "$out/hipaa-operator.tar"
python3 scripts/oci_image.py build --dockerfile deploy/pause/Dockerfile --target pause \
  --context "$context" --tag "$pause_ref" --arch "$arch" --output "$out/pause.tar"

cat >"$out/images.env" <<EOF
# Written by scripts/build-images.sh: the images it built, for \`source\`; paths are relative to the
# repository root. Refs are as written in the archives; containerd lists them normalised.
# HIPAA_PAUSE_IMAGE is the local test node's sandbox_image (containerd CRI config).
HIPAA_IMAGE_TAG=$tag
HIPAA_WEBHOOK_IMAGE=$webhook_ref
HIPAA_OPERATOR_IMAGE=$operator_ref
HIPAA_PAUSE_IMAGE=$pause_ref
HIPAA_WEBHOOK_IMAGE_TAR=$out/hipaa-webhook.tar
HIPAA_OPERATOR_IMAGE_TAR=$out/hipaa-operator.tar
HIPAA_PAUSE_IMAGE_TAR=$out/pause.tar
EOF

if [ "$docker_build" = 1 ]; then
  step "docker build (requested)"
  docker info >/dev/null 2>&1 \
    || die "docker is not usable here (docker info failed); the archives in $out/ are complete: \`docker load -i\` them where docker runs"
  docker build -f deploy/Dockerfile --target webhook -t "$webhook_ref" "$context"
  docker build -f deploy/Dockerfile --target operator -t "$operator_ref" "$context"
fi

step "done in $(since "$total_start")"
ls -l "$out"
echo "refs: $webhook_ref $operator_ref $pause_ref (also in $out/images.env)"

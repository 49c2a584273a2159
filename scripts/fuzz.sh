#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (cargo-fuzz's layout, without the cargo-fuzz tool): builds
# the targets of fuzz/ with the nightly toolchain and SanitizerCoverage, gathers the repository's
# fixtures into each target's corpus, then
#   replay-and-short  replays every corpus and regression input, then fuzzes each target for
#                     FUZZ_SECONDS (default 10) seconds                       (make test)
#   long              fuzzes each target for FUZZ_RUNS (default 10,000,000) executions   (make fuzz)
#   build             only builds the instrumented targets
# Optional target names after the mode narrow the run (default: every target).
# A crash, a hang (-timeout) or running out of memory (-rss_limit_mb) fails the run; the input is
# kept in fuzz/artifacts/<target>/ (gitignored). docs/reliability.md (Fuzzing) explains the rest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode="${1:-replay-and-short}"
shift || true
all_targets=(admission_review admission_object policy scan_input)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=("${all_targets[@]}")

short_seconds="${FUZZ_SECONDS:-10}"
long_runs="${FUZZ_RUNS:-10000000}"
# A hang is any input taking longer than this; memory is capped well under the machine's.
timeout_seconds="${FUZZ_TIMEOUT:-10}"
rss_limit_mb="${FUZZ_RSS_LIMIT_MB:-1024}"

# The flags cargo-fuzz passes (its src/project.rs) but AddressSanitizer (the workspace forbids
# unsafe code) and -Clink-dead-code (kept only for coverage reports); debug assertions and overflow
# checks on. fuzz/Cargo.toml's profiles say how optimised (docs/reliability.md, Fuzzing).
rustflags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0
  --cfg fuzzing
  -Cllvm-args=-sanitizer-coverage-stack-depth
  -Cdebug-assertions
  -Coverflow-checks
)

now() { date +%s; }
took() { echo "$(( $(now) - $1 ))s"; }

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: no nightly toolchain (cargo +nightly); install one with: rustup toolchain install nightly" >&2
  exit 1
fi
triple="$(rustc +nightly -vV | sed -n 's/^host: //p')"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz}"
# make test builds unoptimised (the build dominates a short run); make fuzz optimised.
profile=release
[ "$mode" = long ] || profile="${FUZZ_PROFILE:-replay}"
bin_dir="$target_dir/$triple/$profile"

started=$(now)
echo "fuzz: building ${targets[*]} (instrumented, nightly, $triple) in $target_dir"
# --target keeps the instrumentation off build scripts and proc macros, as cargo-fuzz does.
# The product's own lock file, so that the targets build the versions it ships; cargo only adds
# the fuzz-only crates, pinned exactly in fuzz/Cargo.toml (fuzz/Cargo.lock is not committed).
cp Cargo.lock fuzz/Cargo.lock
RUSTFLAGS="${rustflags[*]} ${RUSTFLAGS:-}" CARGO_TARGET_DIR="$target_dir" \
  cargo +nightly build --profile "$profile" --quiet --manifest-path fuzz/Cargo.toml \
  --target "$triple" $(printf -- '--bin %s ' "${targets[@]}")
echo "fuzz: build took $(took "$started")"
[ "$mode" = build ] && exit 0

# Seeds: the repository's fixtures (collected at every run, so a fresh clone or a lost cache
# starts from them), plus fuzz/seeds/<target> for inputs no fixture covers.
seeds_of() {
  case "$1" in
    admission_review)
      ls webhook/tests/fixtures/reviews/*.json webhook/tests/fixtures/bad/*.json ;;
    admission_object) ;; # builds its reviews from the same fixtures, inside the target
    policy)
      ls deploy/samples/policies/*.yaml operator/src/decide/fixtures/*.yaml \
        kubectl-hipaa/tests/fixtures/policy*.yaml webhook/tests/fixtures/cluster.yaml ;;
    scan_input)
      find controls/tests/fixtures kubectl-hipaa/tests/fixtures deploy/samples webhook/tests/fixtures \
        operator/src/decide/fixtures -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) \
        -size -64k ;;
  esac
  [ -d "fuzz/seeds/$1" ] && find "fuzz/seeds/$1" -type f
  return 0
}

corpus_of() {
  local target=$1 corpus="fuzz/corpus/$1" seed
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  while IFS= read -r seed; do
    cp "$seed" "$corpus/seed-$(sha1sum "$seed" | cut -c1-16)"
  done < <(seeds_of "$target")
}

# The libFuzzer options every run uses.
options_of() {
  local target=$1
  printf -- '-timeout=%s -rss_limit_mb=%s -artifact_prefix=fuzz/artifacts/%s/ -print_final_stats=1' \
    "$timeout_seconds" "$rss_limit_mb" "$target"
  [ -f "fuzz/dictionaries/$target.dict" ] && printf -- ' -dict=fuzz/dictionaries/%s.dict' "$target"
  return 0
}

summary=()
run_target() { # run_target TARGET EXTRA-OPTIONS...
  local target=$1 log stats started
  shift
  log="$(mktemp -t "fuzz-$target.XXXXXX.log")"
  started=$(now)
  # shellcheck disable=SC2046
  if ! "$bin_dir/$target" $(options_of "$target") "$@" "fuzz/corpus/$target" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/ (reproduce: $bin_dir/$target <input>)" >&2
    exit 1
  fi
  stats="$(awk '/stat::number_of_executed_units/ {runs=$2} /stat::average_exec_per_sec/ {rate=$2}
    /stat::peak_rss_mb/ {rss=$2} END {printf "%s executions, %s/s, peak RSS %s MB", runs, rate, rss}' "$log")"
  summary+=("$(printf '%-17s %-8s %5s  %s' "$target" "$mode_step" "$(took "$started")" "$stats")")
  rm -f "$log"
}

for target in "${targets[@]}"; do
  corpus_of "$target"
  # Inputs that once crashed a target must pass before anything new is looked for.
  if [ -d "fuzz/regressions/$target" ] && [ -n "$(ls -A "fuzz/regressions/$target")" ]; then
    # shellcheck disable=SC2046
    "$bin_dir/$target" $(options_of "$target") fuzz/regressions/"$target"/* >/dev/null 2>&1 || {
      echo "fuzz: a regression input of $target fails again (fuzz/regressions/$target/)" >&2
      exit 1
    }
  fi
  mode_step=replay
  run_target "$target" -runs=0
  case "$mode" in
    replay-and-short) mode_step=short; run_target "$target" -max_total_time="$short_seconds" ;;
    long) mode_step=long; run_target "$target" -runs="$long_runs" ;;
    replay) ;;
    *) echo "fuzz: unknown mode $mode (replay-and-short, long, build, replay)" >&2; exit 2 ;;
  esac
done

printf '\nfuzz: %s done in %s\n' "$mode" "$(took "$started")"
printf '%s\n' "${summary[@]}"

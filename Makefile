# The two commands a new user needs: `make demo` and `make test`.
.PHONY: test fuzz demo demo-ci demo-cluster manifests crds images soak soak-webhook soak-operator

## Run every check and test (fmt, clippy, unit, end-to-end on a real control plane).
test:
	bash scripts/test.sh

## The long fuzzing run: every fuzz target to 10 million executions (nightly toolchain; docs/reliability.md).
fuzz:
	bash scripts/fuzz.sh long

## The whole product on a local control plane and a local AWS endpoint; Ctrl-C tears it down.
demo:
	bash scripts/demo.sh

## The demo without waiting: prints everything, then tears down (what CI and tests/tests/demo_e2e.rs run).
demo-ci:
	DEMO_NONINTERACTIVE=1 bash scripts/demo.sh

## The same demo on a real local node (root): the chart's pods from `make images`, a local AWS endpoint; Ctrl-C tears it down.
demo-cluster:
	bash scripts/demo-cluster.sh

## Re-render deploy/hipaa-guard.yaml from the Helm chart.
manifests:
	bash scripts/render-manifests.sh

## Regenerate the CRD YAML from the Rust types.
crds:
	cargo run -q -p hipaa-crds --example crdgen

## Container images with no registry: static binaries packed onto scratch (target/images/*.tar; docs/images.md).
images:
	bash scripts/build-images.sh

## Soak benchmarks, not part of `make test` (docs/reliability.md): 10 minutes each by default;
## SOAK_SECONDS=60 for a short run (every flag: `cargo bench -p <crate> --bench soak -- --help`).
soak: soak-webhook soak-operator

## The webhook at 5,000 reviews/s (open loop) while its certificate is rotated every minute.
soak-webhook:
	cargo bench -p hipaa-webhook --bench soak

## The operator under 50 changes/s across 500 namespaces on the testkit's real API server.
soak-operator:
	cargo bench -p hipaa-operator --bench soak

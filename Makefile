# The two commands a new user needs: `make demo` and `make test`.
.PHONY: test demo crds

## Run every check and test (fmt, clippy, unit, end-to-end on a real control plane).
test:
	bash scripts/test.sh

## Regenerate the CRD YAML from the Rust types.
crds:
	cargo run -q -p hipaa-crds --bin crdgen

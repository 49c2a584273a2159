//go:build tools

// Package tools pins helm v3 for the test harness. It lives in its own module
// so that Go's minimal version selection cannot move the k8s.io versions that
// the control-plane module pins.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)

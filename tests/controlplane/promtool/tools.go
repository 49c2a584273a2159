//go:build tools

// Package tools pins Prometheus's promtool for the rule tests of the chart's alerts
// (charts/hipaa-guard/tests/). It lives in its own module so that Go's minimal version
// selection cannot move the versions the control-plane and helm modules pin.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/promtool"
)

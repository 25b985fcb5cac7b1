//go:build tools

// Package tools keeps the Prometheus requirement in go.mod: scripts/build-prometheus.sh builds
// these main packages from the module cache.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)

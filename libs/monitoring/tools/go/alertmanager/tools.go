//go:build tools

// Package tools keeps the Alertmanager requirement in go.mod: scripts/build-prometheus.sh builds
// these main packages from the module cache.
package tools

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
	_ "github.com/prometheus/alertmanager/cmd/amtool"
)

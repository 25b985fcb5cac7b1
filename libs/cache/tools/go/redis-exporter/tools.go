//go:build tools

// Package tools keeps the redis_exporter requirement in go.mod: scripts/build-redis-exporter.sh
// builds its main package (the module root) from the module cache.
package tools

import (
	_ "github.com/oliver006/redis_exporter"
)

//go:build tools

// Package tools keeps the actionlint requirement in go.mod: tools/scripts/build-actionlint.sh
// builds this main package from the module cache.
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)

//go:build tools

// Package tools keeps the go.etcd.io/etcd/server/v3 requirement in go.mod.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)

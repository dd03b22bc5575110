//go:build tools

// Package tools pins the etcd server module; lab/build.sh builds its main package.
package tools

import _ "go.etcd.io/etcd/server/v3"

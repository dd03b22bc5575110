//go:build tools

// Package tools pins the Istio commands lab/build.sh builds. go.sum starts from
// Istio's own go.sum: the checksum database has no entries for the pseudo-versions
// this Istio commit depends on, so their hashes come from Istio's repository.
package tools

import (
	_ "istio.io/istio/istioctl/cmd/istioctl"
	_ "istio.io/istio/pilot/cmd/pilot-agent"
	_ "istio.io/istio/pilot/cmd/pilot-discovery"
)

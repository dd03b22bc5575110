// Command meshops-dataplane is the lab's proxyless gRPC workload: an echo server
// and a load client that talk through Istio's control plane (xDS resolver and
// xDS credentials, configured by the pod's pilot-agent in grpc-agent mode).
//
//	meshops-dataplane server [flags]   serve the echo service on the pod IP
//	meshops-dataplane client [flags]   call a service, print per-version counts as JSON
//
// Both read GRPC_XDS_BOOTSTRAP (written by the pod's agent). See lab/README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: meshops-dataplane server|client [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = serverMain(os.Args[2:])
	case "client":
		err = clientMain(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want server or client)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshops-dataplane:", err)
		os.Exit(1)
	}
}

// envOr returns the environment variable NAME, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

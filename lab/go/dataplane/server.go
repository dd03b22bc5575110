package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// fault is what a version is told to do wrong: fail a share of requests with a
// code, and/or add latency. It can be changed at run time through /fault.
type fault struct {
	FailRatio float64 `json:"fail_ratio"`
	FailCode  string  `json:"fail_code"`
	DelayMS   float64 `json:"delay_ms"`
}

func (f fault) validate() (codes.Code, error) {
	if f.FailRatio < 0 || f.FailRatio > 1 {
		return 0, fmt.Errorf("fail_ratio %v: must be between 0 and 1", f.FailRatio)
	}
	if f.DelayMS < 0 {
		return 0, fmt.Errorf("delay_ms %v: must not be negative", f.DelayMS)
	}
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(`"` + strings.ToUpper(camelToSnake(f.FailCode)) + `"`)); err != nil {
		return 0, fmt.Errorf("fail_code %q: not a gRPC status code name (e.g. UNAVAILABLE, INTERNAL)", f.FailCode)
	}
	return c, nil
}

// camelToSnake turns "PermissionDenied" into "Permission_Denied" (UnmarshalJSON takes
// "PERMISSION_DENIED"); names already in SNAKE_CASE pass unchanged.
func camelToSnake(s string) string {
	if strings.Contains(s, "_") || strings.ToUpper(s) == s {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

type echoServer struct {
	dest  destination
	pod   string
	mu    sync.RWMutex
	fault fault
	code  codes.Code
}

func (s *echoServer) setFault(f fault) error {
	c, err := f.validate()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.fault, s.code = f, c
	s.mu.Unlock()
	return nil
}

func (s *echoServer) Call(ctx context.Context, in *wrapperspb.StringValue) (*structpb.Struct, error) {
	s.mu.RLock()
	f, code := s.fault, s.code
	s.mu.RUnlock()
	if f.DelayMS > 0 {
		select {
		case <-time.After(time.Duration(f.DelayMS * float64(time.Millisecond))):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if f.FailRatio > 0 && rand.Float64() < f.FailRatio {
		return nil, status.Errorf(code, "injected failure (%s %s fails %.0f%% of requests)",
			s.dest.workload, s.pod, f.FailRatio*100)
	}
	policy, principal := connSecurity(ctx)
	md, _ := metadata.FromIncomingContext(ctx)
	return structpb.NewStruct(map[string]any{
		"message":   in.GetValue(),
		"version":   s.dest.version,
		"pod":       s.pod,
		"namespace": s.dest.namespace,
		"workload":  s.dest.workload,
		"service":   firstMD(md, ":authority", ""),
		"caller":    principal,
		"security":  policy,
	})
}

func serverMain(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	ip := envOr("INSTANCE_IP", "127.0.0.1")
	addr := fs.String("addr", net.JoinHostPort(ip, "7070"), "gRPC listen address (the pod IP: xDS listeners are per address)")
	metricsAddr := fs.String("metrics-addr", net.JoinHostPort(ip, "15090"), "HTTP address for /metrics, /stats/prometheus, /healthz and /fault")
	var d destination
	fs.StringVar(&d.namespace, "namespace", envOr("POD_NAMESPACE", "default"), "pod namespace")
	fs.StringVar(&d.app, "app", "echo", "app label")
	fs.StringVar(&d.version, "version", "v1", "version label")
	fs.StringVar(&d.workload, "workload", "", "workload name (default APP-VERSION)")
	fs.StringVar(&d.serviceAccount, "service-account", envOr("SERVICE_ACCOUNT", "default"), "service account")
	fs.StringVar(&d.cluster, "cluster", envOr("ISTIO_META_CLUSTER_ID", "Kubernetes"), "cluster name")
	fs.StringVar(&d.trustDomain, "trust-domain", envOr("TRUST_DOMAIN", "cluster.local"), "trust domain")
	pod := fs.String("pod", envOr("POD_NAME", "echo"), "pod name")
	var f fault
	fs.Float64Var(&f.FailRatio, "fail-ratio", 0, "share of requests to fail (0..1)")
	fs.StringVar(&f.FailCode, "fail-code", "INTERNAL", "gRPC status code of the injected failures (UNAVAILABLE ones are retried by Istio's default retry policy)")
	fs.Float64Var(&f.DelayMS, "delay-ms", 0, "latency added to every request, in milliseconds")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if d.workload == "" {
		d.workload = d.app + "-" + d.version
	}
	srv := &echoServer{dest: d, pod: *pod}
	if err := srv.setFault(f); err != nil {
		return err
	}
	m := newMetrics(d)

	var serving atomic.Bool
	creds, err := xdscreds.NewServerCredentials(xdscreds.ServerOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		return err
	}
	gs, err := xds.NewGRPCServer(grpc.Creds(creds), grpc.UnaryInterceptor(m.interceptor),
		xds.ServingModeCallback(func(a net.Addr, args xds.ServingModeChangeArgs) {
			log.Printf("serving mode of %s: %v (%v)", a, args.Mode, args.Err)
			serving.Store(args.Mode == connectivity.ServingModeServing)
		}))
	if err != nil {
		return err
	}
	gs.RegisterService(&echoServiceDesc, srv)

	mux := http.NewServeMux()
	mux.Handle("/metrics", m.handler())
	mux.Handle("/stats/prometheus", m.handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !serving.Load() {
			http.Error(w, "not serving yet: no xDS listener for "+*addr, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "serving")
	})
	mux.HandleFunc("/fault", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.Method == http.MethodPut {
			nf := fault{FailCode: "INTERNAL"}
			if err := json.NewDecoder(r.Body).Decode(&nf); err != nil {
				http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
				return
			}
			if err := srv.setFault(nf); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			log.Printf("fault set to %+v", nf)
		}
		srv.mu.RLock()
		defer srv.mu.RUnlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(srv.fault)
	})
	ml, err := net.Listen("tcp", *metricsAddr)
	if err != nil {
		return err
	}
	go func() { log.Print(http.Serve(ml, mux)) }()

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Printf("echo %s (%s) on %s, metrics on %s, fault %+v", d.workload, *pod, *addr, *metricsAddr, f)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		gs.Stop()
	}()
	return gs.Serve(lis)
}

package main

import (
	"context"
	"crypto/x509"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Istio's standard request metrics (reporter="destination"), counted here by the
// server from the requests it really serves: no Envoy runs in the lab, and Istio's
// proxyless gRPC mode has no proxy telemetry. Names, labels and buckets are Istio's.
var istioLabels = []string{
	"reporter",
	"source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
	"source_canonical_service", "source_canonical_revision", "source_cluster",
	"destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
	"destination_version", "destination_service", "destination_service_name", "destination_service_namespace",
	"destination_canonical_service", "destination_canonical_revision", "destination_cluster",
	"request_protocol", "response_code", "grpc_response_status", "response_flags", "connection_security_policy",
}

// Istio's default buckets for istio_request_duration_milliseconds.
var istioDurationBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
	60000, 300000, 600000, 1800000, 3600000}

// Headers the lab's load client sends so the server can fill in the source_* labels
// (the part Envoy's metadata exchange does in a real mesh). The principal and the
// connection security always come from the connection itself, never from a header.
const (
	hdrSourceWorkload  = "x-meshops-source-workload"
	hdrSourceNamespace = "x-meshops-source-namespace"
	hdrSourceApp       = "x-meshops-source-app"
	hdrSourceVersion   = "x-meshops-source-version"
)

type destination struct {
	workload, namespace, app, version, serviceAccount, cluster, trustDomain string
}

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	dest     destination
}

func newMetrics(dest destination) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "istio_requests_total", Help: "Requests served, counted by the workload (reporter=destination).",
		}, istioLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "istio_request_duration_milliseconds", Help: "Request duration in milliseconds.",
			Buckets: istioDurationBuckets,
		}, istioLabels),
		dest: dest,
	}
	m.registry.MustRegister(m.requests, m.duration)
	return m
}

// handler serves the metrics on /metrics and on Envoy's /stats/prometheus.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// connSecurity reads the peer of a request: ("mutual_tls", SPIFFE ID) when the
// connection is TLS with a verified client certificate, ("none", "unknown") otherwise.
func connSecurity(ctx context.Context) (policy, principal string) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "none", "unknown"
	}
	return securityOf(p.AuthInfo)
}

func securityOf(ai credentials.AuthInfo) (policy, principal string) {
	info, ok := ai.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 {
		return "none", "unknown"
	}
	if info.SPIFFEID != nil {
		return "mutual_tls", info.SPIFFEID.String()
	}
	return "mutual_tls", uriSAN(info.State.PeerCertificates[0])
}

func uriSAN(cert *x509.Certificate) string {
	for _, u := range cert.URIs {
		if u.Scheme == "spiffe" {
			return u.String()
		}
	}
	return "unknown"
}

// namespaceOfPrincipal returns NS of spiffe://TD/ns/NS/sa/SA, or "".
func namespaceOfPrincipal(p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "spiffe://"), "/")
	if len(parts) == 5 && parts[1] == "ns" && parts[3] == "sa" {
		return parts[2]
	}
	return ""
}

// httpStatus maps a gRPC status to the HTTP status of google.rpc.Code's documented
// mapping (the one Envoy uses for gRPC replies it generates): 200 for OK, 503 for
// UNAVAILABLE, 403 for PERMISSION_DENIED, ... so a "non-5xx" success rate sees
// failing gRPC calls as failures.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return 200
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return 400
	case codes.DeadlineExceeded:
		return 504
	case codes.NotFound:
		return 404
	case codes.AlreadyExists, codes.Aborted:
		return 409
	case codes.PermissionDenied:
		return 403
	case codes.ResourceExhausted:
		return 429
	case codes.Unimplemented:
		return 501
	case codes.Unavailable:
		return 503
	case codes.Unauthenticated:
		return 401
	default: // Unknown, Internal, DataLoss
		return 500
	}
}

func firstMD(md metadata.MD, key, def string) string {
	if v := md.Get(key); len(v) > 0 && v[0] != "" {
		return v[0]
	}
	return def
}

// authority of the request: the service host the client dialled (xds:///HOST:PORT).
func authority(md metadata.MD) string {
	a := firstMD(md, ":authority", "unknown")
	if i := strings.LastIndex(a, ":"); i > 0 && !strings.HasSuffix(a, "]") {
		a = a[:i]
	}
	return a
}

// interceptor is the outermost unary interceptor: it also sees the requests that the
// xDS layer (routing, RBAC) rejects before they reach the handler, as Envoy would.
func (m *metrics) interceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	elapsed := float64(time.Since(start).Microseconds()) / 1000
	code := status.Code(err)
	md, _ := metadata.FromIncomingContext(ctx)
	policy, principal := connSecurity(ctx)
	srcNS := firstMD(md, hdrSourceNamespace, "")
	if srcNS == "" {
		srcNS = namespaceOfPrincipal(principal)
	}
	if srcNS == "" {
		srcNS = "unknown"
	}
	srcWorkload := firstMD(md, hdrSourceWorkload, "unknown")
	srcApp := firstMD(md, hdrSourceApp, "unknown")
	srcVersion := firstMD(md, hdrSourceVersion, "unknown")
	destPrincipal := "unknown"
	if policy == "mutual_tls" {
		destPrincipal = "spiffe://" + m.dest.trustDomain + "/ns/" + m.dest.namespace + "/sa/" + m.dest.serviceAccount
	}
	svc := authority(md)
	svcName, svcNS := svc, "unknown"
	if parts := strings.Split(svc, "."); len(parts) >= 2 {
		svcName, svcNS = parts[0], parts[1]
	}
	values := []string{
		"destination",
		srcWorkload, srcNS, principal, srcApp, srcVersion, srcApp, srcVersion, m.dest.cluster,
		m.dest.workload, m.dest.namespace, destPrincipal, m.dest.app,
		m.dest.version, svc, svcName, svcNS,
		m.dest.app, m.dest.version, m.dest.cluster,
		"grpc", strconv.Itoa(httpStatus(code)), strconv.Itoa(int(code)), "-", policy,
	}
	m.requests.WithLabelValues(values...).Inc()
	m.duration.WithLabelValues(values...).Observe(elapsed)
	return resp, err
}

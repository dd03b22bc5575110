package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"meshops.example/shop/internal/shop"
)

var trace = map[string]string{
	"x-request-id":      "req-1",
	"x-b3-traceid":      "463ac35c9f6413ad48485a3953bb6124",
	"x-b3-spanid":       "a2fb4a1d1a96d312",
	"x-b3-parentspanid": "0020000000000001",
	"x-b3-sampled":      "1",
	"x-b3-flags":        "1",
	"b3":                "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1",
	"traceparent":       "00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-01",
	"tracestate":        "vendor=1",
}

// fakeBackend records what it receives and answers /health with health.
type fakeBackend struct {
	name   string
	health int
	srv    *httptest.Server

	mu     sync.Mutex
	method string
	uri    string
	body   string
	header http.Header
}

func newFakeBackend(t *testing.T, name string, health int) *fakeBackend {
	b := &fakeBackend{name: name, health: health}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.method, b.uri, b.body, b.header = r.Method, r.URL.RequestURI(), string(body), r.Header.Clone()
		b.mu.Unlock()
		if r.URL.Path == "/health" {
			w.WriteHeader(b.health)
			return
		}
		shop.WriteJSON(w, http.StatusOK, map[string]string{"backend": b.name})
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func newTestGateway(t *testing.T, users, orders, payments string) http.Handler {
	g, err := newGateway(map[string]string{"users": users, "orders": orders, "payments": payments}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	return shop.Handler(service, log.New(io.Discard, "", 0), g)
}

func do(t *testing.T, h http.Handler, method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRouting(t *testing.T) {
	users := newFakeBackend(t, "users", 200)
	orders := newFakeBackend(t, "orders", 200)
	payments := newFakeBackend(t, "payments", 200)
	gw := newTestGateway(t, users.srv.URL, orders.srv.URL, payments.srv.URL)

	for _, tc := range []struct {
		method, target, want string
	}{
		{"GET", "/api/users", "users"},
		{"POST", "/api/users", "users"},
		{"GET", "/api/users/42?expand=1", "users"},
		{"POST", "/api/orders", "orders"},
		{"GET", "/api/orders/7", "orders"},
		{"POST", "/api/payments", "payments"},
		{"GET", "/api/payments/3", "payments"},
	} {
		rec := do(t, gw, tc.method, tc.target, `{"k":"v"}`, nil)
		var got map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &got)
		if rec.Code != http.StatusOK || got["backend"] != tc.want {
			t.Errorf("%s %s: status %d, backend %q, want %q", tc.method, tc.target, rec.Code, got["backend"], tc.want)
			continue
		}
		b := map[string]*fakeBackend{"users": users, "orders": orders, "payments": payments}[tc.want]
		b.mu.Lock()
		if b.method != tc.method || b.uri != tc.target || b.body != `{"k":"v"}` {
			t.Errorf("%s %s: backend saw %s %s body %q", tc.method, tc.target, b.method, b.uri, b.body)
		}
		b.mu.Unlock()
	}

	for _, target := range []string{"/", "/api", "/api/usersx", "/api/inventory/1", "/users"} {
		if rec := do(t, gw, "GET", target, "", nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, rec.Code)
		}
	}
}

func TestProxyForwardsTraceHeaders(t *testing.T) {
	users := newFakeBackend(t, "users", 200)
	orders := newFakeBackend(t, "orders", 200)
	gw := newTestGateway(t, users.srv.URL, orders.srv.URL, users.srv.URL)
	if rec := do(t, gw, "POST", "/api/orders", `{}`, trace); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	orders.mu.Lock()
	defer orders.mu.Unlock()
	for k, v := range trace {
		if got := orders.header.Get(k); got != v {
			t.Errorf("backend got %s = %q, want %q", k, got, v)
		}
	}
}

func TestBackendDownIs502(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	ok := newFakeBackend(t, "ok", 200)
	gw := newTestGateway(t, down.URL, ok.srv.URL, ok.srv.URL)
	if rec := do(t, gw, "GET", "/api/users", "", nil); rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", rec.Code)
	}
}

type healthBody struct {
	Status   string                   `json:"status"`
	Backends map[string]backendHealth `json:"backends"`
}

func health(t *testing.T, gw http.Handler, hdr map[string]string) (int, healthBody) {
	t.Helper()
	rec := do(t, gw, "GET", "/health", "", hdr)
	var hb healthBody
	if err := json.Unmarshal(rec.Body.Bytes(), &hb); err != nil {
		t.Fatalf("health body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, hb
}

func TestHealthAllHealthy(t *testing.T) {
	users := newFakeBackend(t, "users", 200)
	orders := newFakeBackend(t, "orders", 200)
	payments := newFakeBackend(t, "payments", 200)
	code, hb := health(t, newTestGateway(t, users.srv.URL, orders.srv.URL, payments.srv.URL), trace)
	if code != http.StatusOK || hb.Status != "ok" || len(hb.Backends) != 3 {
		t.Fatalf("got %d %+v", code, hb)
	}
	for name, h := range hb.Backends {
		if h.Status != "ok" {
			t.Errorf("%s: %+v", name, h)
		}
	}
	// The health checks are outgoing calls too: trace headers travel with them.
	payments.mu.Lock()
	defer payments.mu.Unlock()
	if payments.uri != "/health" || payments.header.Get("traceparent") != trace["traceparent"] {
		t.Errorf("payments saw %s with traceparent %q", payments.uri, payments.header.Get("traceparent"))
	}
}

func TestHealthOneUnhealthy(t *testing.T) {
	users := newFakeBackend(t, "users", 200)
	orders := newFakeBackend(t, "orders", 200)
	payments := newFakeBackend(t, "payments", http.StatusServiceUnavailable)
	code, hb := health(t, newTestGateway(t, users.srv.URL, orders.srv.URL, payments.srv.URL), nil)
	if code != http.StatusServiceUnavailable || hb.Status != "unhealthy" {
		t.Fatalf("got %d %+v", code, hb)
	}
	if hb.Backends["payments"].Status != "unhealthy" || !strings.Contains(hb.Backends["payments"].Error, "503") {
		t.Errorf("payments: %+v", hb.Backends["payments"])
	}
	if hb.Backends["users"].Status != "ok" || hb.Backends["orders"].Status != "ok" {
		t.Errorf("users/orders: %+v", hb.Backends)
	}
}

func TestHealthBackendUnreachable(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	ok := newFakeBackend(t, "ok", 200)
	code, hb := health(t, newTestGateway(t, ok.srv.URL, down.URL, ok.srv.URL), nil)
	if code != http.StatusServiceUnavailable || hb.Backends["orders"].Status != "unhealthy" || hb.Backends["orders"].URL != down.URL {
		t.Fatalf("got %d %+v", code, hb)
	}
}

func TestNewGatewayRejectsBadURL(t *testing.T) {
	if _, err := newGateway(map[string]string{"users": "http://u:1", "orders": "::bad", "payments": "http://p:1"}, log.New(io.Discard, "", 0)); err == nil {
		t.Fatal("want error for a bad backend URL")
	}
}

package shop

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// traceValues is one value per trace header, as a mesh sidecar would set them.
func traceValues() map[string]string {
	return map[string]string{
		"x-request-id":      "6f1c2d3e-req",
		"x-b3-traceid":      "80f198ee56343ba864fe8b2a57d3eff7",
		"x-b3-spanid":       "e457b5a2e4d86bd1",
		"x-b3-parentspanid": "05e3ac9a4f6e3b90",
		"x-b3-sampled":      "1",
		"x-b3-flags":        "0",
		"b3":                "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
		"traceparent":       "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"tracestate":        "congo=t61rcWkgMzE",
	}
}

func TestCopyTraceHeaders(t *testing.T) {
	src := http.Header{}
	for k, v := range traceValues() {
		src.Set(k, v)
	}
	src.Set("Authorization", "Bearer secret")
	src.Set("Cookie", "session=1")
	dst := http.Header{}
	dst.Set("x-b3-traceid", "stale")
	CopyTraceHeaders(dst, src)
	for k, v := range traceValues() {
		if got := dst.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(dst.Values("x-b3-traceid")) != 1 {
		t.Errorf("x-b3-traceid not replaced: %q", dst.Values("x-b3-traceid"))
	}
	for _, k := range []string{"Authorization", "Cookie"} {
		if dst.Get(k) != "" {
			t.Errorf("%s must not be forwarded", k)
		}
	}
}

// A request served by Handler and the outgoing call it makes with NewRequest:
// the downstream service must see every trace header of the incoming request.
func TestOutgoingCallsForwardTraceHeaders(t *testing.T) {
	var got http.Header
	downstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer downstream.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		req, err := NewRequest(r.Context(), http.MethodPost, downstream.URL+"/next", map[string]int{"n": 1})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})
	svc := httptest.NewServer(Handler("test", log.New(io.Discard, "", 0), mux))
	defer svc.Close()

	req, _ := http.NewRequest(http.MethodGet, svc.URL+"/work", nil)
	for k, v := range traceValues() {
		req.Header.Set(k, v)
	}
	req.Header.Set("Cookie", "session=1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, v := range traceValues() {
		if got.Get(k) != v {
			t.Errorf("downstream %s = %q, want %q", k, got.Get(k), v)
		}
	}
	if got.Get("Cookie") != "" {
		t.Error("Cookie must not be forwarded")
	}
	if got.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", got.Get("Content-Type"))
	}
}

func TestNewRequestWithoutTrace(t *testing.T) {
	req, err := NewRequest(context.Background(), http.MethodGet, "http://x/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range TraceHeaders {
		if req.Header.Get(k) != "" {
			t.Errorf("unexpected %s", k)
		}
	}
}

func TestLoggedWritesOneLinePerRequest(t *testing.T) {
	var buf bytes.Buffer
	h := Handler("users", log.New(&buf, "", 0), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte("hi"))
	}))
	req := httptest.NewRequest(http.MethodPost, "/api/users?x=1", nil)
	req.Header.Set("x-request-id", "abc")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/health", nil))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d: %q", len(lines), buf.String())
	}
	for _, want := range []string{"service=users", "method=POST", `path="/api/users?x=1"`, "status=418", "bytes=2", "request_id=abc"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line %q lacks %q", lines[0], want)
		}
	}
	if !strings.Contains(lines[1], `path="/health"`) || !strings.Contains(lines[1], "request_id=-") {
		t.Errorf("log line %q", lines[1])
	}
}

func TestServiceURL(t *testing.T) {
	t.Setenv("A", "users:8081")
	t.Setenv("B", "http://orders:8082/")
	t.Setenv("C", "")
	for key, want := range map[string]string{"A": "http://users:8081", "B": "http://orders:8082", "C": "http://def:1"} {
		if got := ServiceURL(key, "http://def:1"); got != want {
			t.Errorf("%s: got %q, want %q", key, got, want)
		}
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte("done"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, "test", addr, h, log.New(io.Discard, "", 0)) }()

	for i := 0; ; i++ { // wait for the listener
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{string(b), err}
	}()
	<-started
	cancel() // what SIGTERM does, while a request is in flight
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	r := <-res
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: body %q, err %v", r.body, r.err)
	}
	if _, err := http.Get("http://" + addr + "/slow"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}

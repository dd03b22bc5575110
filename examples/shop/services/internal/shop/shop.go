// Package shop holds the little that the demo shop's services share: config
// from the environment, trace-header propagation, request logging, JSON
// helpers, health probes and a server that shuts down gracefully on SIGTERM.
package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// TraceHeaders are the headers a service copies from the request it serves
// onto every request it makes, so that Envoy/Istio can stitch the spans of
// one call chain together (B3, W3C trace context and Envoy's request id).
var TraceHeaders = []string{
	"x-request-id",
	"x-b3-traceid",
	"x-b3-spanid",
	"x-b3-parentspanid",
	"x-b3-sampled",
	"x-b3-flags",
	"b3",
	"traceparent",
	"tracestate",
}

// CopyTraceHeaders copies the trace headers present in src into dst.
func CopyTraceHeaders(dst, src http.Header) {
	for _, h := range TraceHeaders {
		if v := src.Values(h); len(v) > 0 {
			dst.Del(h)
			for _, s := range v {
				dst.Add(h, s)
			}
		}
	}
}

type traceKey struct{}

// WithTrace stores the trace headers of an incoming request in ctx.
func WithTrace(ctx context.Context, in http.Header) context.Context {
	h := http.Header{}
	CopyTraceHeaders(h, in)
	return context.WithValue(ctx, traceKey{}, h)
}

// TraceFrom returns the trace headers stored by WithTrace (empty if none).
func TraceFrom(ctx context.Context) http.Header {
	if h, ok := ctx.Value(traceKey{}).(http.Header); ok {
		return h
	}
	return http.Header{}
}

// Traced is middleware that makes the request's trace headers available to
// outgoing calls made with NewRequest (via the request context).
func Traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithTrace(r.Context(), r.Header)))
	})
}

// NewRequest builds an outgoing request that carries the trace headers found
// in ctx. body, when not nil, is sent as JSON.
func NewRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	CopyTraceHeaders(req.Header, TraceFrom(ctx))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// Env returns the value of the environment variable key, or def if unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// ServiceURL reads a backend address from env var key ("http://users:8081",
// or just "users:8081") and returns it as a base URL without trailing slash.
func ServiceURL(key, def string) string {
	v := strings.TrimRight(Env(key, def), "/")
	if v != "" && !strings.Contains(v, "://") {
		v = "http://" + v
	}
	return v
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": msg} with the given status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// DecodeJSON decodes a JSON request body (at most 1 MiB) into v.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Logged is middleware that logs one line per request.
func Logged(service string, logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		rid := r.Header.Get("x-request-id")
		if rid == "" {
			rid = "-"
		}
		logger.Printf("service=%s method=%s path=%q status=%d bytes=%d duration=%s remote=%s request_id=%s",
			service, r.Method, r.URL.RequestURI(), rec.status, rec.bytes,
			time.Since(start).Round(time.Microsecond), r.RemoteAddr, rid)
	})
}

// Handler wraps a service's mux with trace propagation and request logging.
func Handler(service string, logger *log.Logger, mux http.Handler) http.Handler {
	return Logged(service, logger, Traced(mux))
}

// CheckHealth GETs base+"/health" and returns nil when it answers 200.
func CheckHealth(ctx context.Context, client *http.Client, base string) error {
	req, err := NewRequest(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// Run serves h on ":"+PORT (default defPort) until SIGTERM or SIGINT, then
// shuts down gracefully: stops accepting, lets in-flight requests finish
// (up to 10s) and returns. Meant to run as PID 1 in a container.
func Run(service, defPort string, h http.Handler, logger *log.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return Serve(ctx, service, ":"+Env("PORT", defPort), h, logger)
}

// Serve is Run with an explicit context and address.
func Serve(ctx context.Context, service, addr string, h http.Handler, logger *log.Logger) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Printf("service=%s msg=listening addr=%s", service, addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Printf("service=%s msg=%q", service, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Printf("service=%s msg=stopped", service)
	return nil
}

// NewLogger returns the logger the services use: stdout, UTC timestamps.
func NewLogger() *log.Logger {
	return log.New(os.Stdout, "", log.LUTC|log.Ldate|log.Ltime|log.Lmicroseconds)
}

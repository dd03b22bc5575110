package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"meshops.example/shop/internal/shop"
)

func TestFrontend(t *testing.T) {
	var gotURI string
	var gotHeader http.Header
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotURI, gotHeader = r.URL.RequestURI(), r.Header.Clone()
		shop.WriteJSON(w, http.StatusOK, []string{})
	}))
	defer gateway.Close()

	mux, err := newMux(gateway.URL, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	h := shop.Handler(service, log.New(io.Discard, "", 0), mux)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<title>meshops demo shop</title>") {
		t.Fatalf("index: %d", rec.Code)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("health: %d", rec.Code)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/nope", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("/nope: %d", rec.Code)
	}

	req := httptest.NewRequest("GET", "/api/users?limit=5", nil)
	for _, k := range shop.TraceHeaders {
		req.Header.Set(k, "v-"+k)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || gotURI != "/api/users?limit=5" {
		t.Fatalf("proxy: %d, gateway saw %q", rec.Code, gotURI)
	}
	for _, k := range shop.TraceHeaders {
		if gotHeader.Get(k) != "v-"+k {
			t.Errorf("gateway got %s = %q", k, gotHeader.Get(k))
		}
	}
}

func TestFrontendAPIDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	mux, err := newMux(down.URL, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/orders", nil))
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", rec.Code)
	}
}

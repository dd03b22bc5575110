package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"meshops.example/shop/internal/shop"
)

type memStore struct {
	mu       sync.Mutex
	payments []Payment
	pingErr  error
}

func (m *memStore) Ping(context.Context) error { return m.pingErr }

func (m *memStore) Create(_ context.Context, p Payment) (Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.ID, p.CreatedAt = int64(len(m.payments)+1), time.Now()
	m.payments = append(m.payments, p)
	return p, nil
}

func (m *memStore) Get(_ context.Context, id int64) (Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || id > int64(len(m.payments)) {
		return Payment{}, errNotFound
	}
	return m.payments[id-1], nil
}

func (m *memStore) List(context.Context) ([]Payment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Payment{}, m.payments...), nil
}

func do(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func TestPaymentsAPI(t *testing.T) {
	st := &memStore{}
	h := shop.Handler(service, log.New(io.Discard, "", 0), newMux(st))

	rec := do(h, "POST", "/api/payments", `{"order_id":5,"amount_cents":1299}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var p Payment
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if p.ID != 1 || p.OrderID != 5 || p.AmountCents != 1299 || p.Status != "captured" {
		t.Fatalf("payment %+v", p)
	}
	for _, body := range []string{`{"order_id":5}`, `{"amount_cents":5}`, `{"order_id":5,"amount_cents":-1}`, `x`} {
		if rec := do(h, "POST", "/api/payments", body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, rec.Code)
		}
	}
	if rec := do(h, "GET", "/api/payments/1", ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"order_id":5`) {
		t.Errorf("get: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/payments/9", ""); rec.Code != http.StatusNotFound {
		t.Errorf("missing: %d", rec.Code)
	}
	if rec := do(h, "GET", "/api/payments", ""); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "[") {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
}

func TestHealthFollowsDatabase(t *testing.T) {
	st := &memStore{}
	h := newMux(st)
	if rec := do(h, "GET", "/health", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthy: %d", rec.Code)
	}
	st.pingErr = errors.New("no database")
	if rec := do(h, "GET", "/health", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("unhealthy: %d", rec.Code)
	}
}

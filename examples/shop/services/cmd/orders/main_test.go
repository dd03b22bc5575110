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
	mu      sync.Mutex
	orders  map[int64]Order
	pingErr error
}

func newMemStore() *memStore { return &memStore{orders: map[int64]Order{}} }

func (m *memStore) Ping(context.Context) error { return m.pingErr }

func (m *memStore) Create(_ context.Context, o Order) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o.ID = int64(len(m.orders) + 1)
	o.CreatedAt = time.Now()
	m.orders[o.ID] = o
	return o, nil
}

func (m *memStore) SetPayment(_ context.Context, id int64, pid *int64, status string) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return o, errNotFound
	}
	o.PaymentID, o.Status = pid, status
	m.orders[id] = o
	return o, nil
}

func (m *memStore) Get(_ context.Context, id int64) (Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.orders[id]
	if !ok {
		return o, errNotFound
	}
	return o, nil
}

func (m *memStore) List(context.Context) ([]Order, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := []Order{}
	for _, o := range m.orders {
		list = append(list, o)
	}
	return list, nil
}

var trace = map[string]string{
	"x-request-id":      "order-req-9",
	"x-b3-traceid":      "0af7651916cd43dd8448eb211c80319c",
	"x-b3-spanid":       "b7ad6b7169203331",
	"x-b3-parentspanid": "00f067aa0ba902b7",
	"x-b3-sampled":      "1",
	"x-b3-flags":        "0",
	"b3":                "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
	"traceparent":       "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"tracestate":        "rojo=00f067aa0ba902b7",
}

// fakePayments answers POST /api/payments with status and records the call.
type fakePayments struct {
	status int
	mu     sync.Mutex
	calls  int
	body   map[string]int64
	header http.Header
}

func (f *fakePayments) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.header = r.Header.Clone()
	f.body = nil
	_ = json.NewDecoder(r.Body).Decode(&f.body)
	if r.Method != http.MethodPost || r.URL.Path != "/api/payments" {
		shop.WriteError(w, http.StatusNotFound, "wrong route "+r.Method+" "+r.URL.Path)
		return
	}
	if f.status != http.StatusCreated {
		shop.WriteError(w, f.status, "declined")
		return
	}
	shop.WriteJSON(w, http.StatusCreated, map[string]any{"id": 77, "order_id": f.body["order_id"], "status": "captured"})
}

func setup(t *testing.T, paymentsStatus int) (http.Handler, *memStore, *fakePayments) {
	st := newMemStore()
	fp := &fakePayments{status: paymentsStatus}
	srv := httptest.NewServer(fp)
	t.Cleanup(srv.Close)
	a := &app{store: st, payments: srv.URL, client: srv.Client()}
	return shop.Handler(service, log.New(io.Discard, "", 0), a.mux()), st, fp
}

func do(h http.Handler, method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCreateOrderChargesPaymentWithTraceHeaders(t *testing.T) {
	h, st, fp := setup(t, http.StatusCreated)
	rec := do(h, "POST", "/api/orders", `{"user_id":3,"product":"mug","quantity":2,"amount_cents":2598}`, trace)
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var o Order
	if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil {
		t.Fatal(err)
	}
	if o.ID != 1 || o.Status != "paid" || o.PaymentID == nil || *o.PaymentID != 77 || o.Quantity != 2 {
		t.Fatalf("order %+v", o)
	}
	if stored, _ := st.Get(context.Background(), 1); stored.PaymentID == nil || *stored.PaymentID != 77 {
		t.Fatalf("stored order %+v has no payment id", stored)
	}
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.calls != 1 || fp.body["order_id"] != 1 || fp.body["amount_cents"] != 2598 {
		t.Fatalf("payments called %d times with %v", fp.calls, fp.body)
	}
	for k, v := range trace {
		if got := fp.header.Get(k); got != v {
			t.Errorf("payments got %s = %q, want %q", k, got, v)
		}
	}

	rec = do(h, "GET", "/api/orders/1", "", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"payment_id":77`) {
		t.Fatalf("GET order: %d %s", rec.Code, rec.Body)
	}
}

func TestCreateOrderPaymentFails(t *testing.T) {
	h, st, _ := setup(t, http.StatusPaymentRequired)
	rec := do(h, "POST", "/api/orders", `{"user_id":3,"product":"mug","amount_cents":100}`, nil)
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	o, _ := st.Get(context.Background(), 1)
	if o.Status != "payment_failed" || o.PaymentID != nil || o.Quantity != 1 {
		t.Fatalf("stored order %+v", o)
	}
}

func TestOrderValidationAndNotFound(t *testing.T) {
	h, _, fp := setup(t, http.StatusCreated)
	for _, body := range []string{`{}`, `{"user_id":1,"product":"x"}`, `{"user_id":1,"amount_cents":5}`, `not json`, `{"user_id":1,"product":"x","amount_cents":5,"extra":1}`} {
		if rec := do(h, "POST", "/api/orders", body, nil); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, rec.Code)
		}
	}
	if fp.calls != 0 {
		t.Errorf("payments called for invalid orders")
	}
	if rec := do(h, "GET", "/api/orders/99", "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("missing order: %d", rec.Code)
	}
	if rec := do(h, "GET", "/api/orders/abc", "", nil); rec.Code != http.StatusBadRequest {
		t.Errorf("bad id: %d", rec.Code)
	}
}

func TestHealthFollowsDatabase(t *testing.T) {
	h, st, _ := setup(t, http.StatusCreated)
	if rec := do(h, "GET", "/health", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("healthy: %d", rec.Code)
	}
	st.pingErr = errors.New("connection refused")
	rec := do(h, "GET", "/health", "", nil)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "connection refused") {
		t.Fatalf("unhealthy: %d %s", rec.Code, rec.Body)
	}
}

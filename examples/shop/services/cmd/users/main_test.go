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
	users   []User
	pingErr error
}

func (m *memStore) Ping(context.Context) error { return m.pingErr }

func (m *memStore) Create(_ context.Context, name, email string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Email == email {
			return User{}, errConflict
		}
	}
	u := User{ID: int64(len(m.users) + 1), Name: name, Email: email, CreatedAt: time.Now()}
	m.users = append(m.users, u)
	return u, nil
}

func (m *memStore) Get(_ context.Context, id int64) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || id > int64(len(m.users)) {
		return User{}, errNotFound
	}
	return m.users[id-1], nil
}

func (m *memStore) List(context.Context) ([]User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]User{}, m.users...), nil
}

func do(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func TestUsersAPI(t *testing.T) {
	st := &memStore{}
	h := shop.Handler(service, log.New(io.Discard, "", 0), newMux(st))

	rec := do(h, "POST", "/api/users", `{"name":"Ada","email":"ada@example.com"}`)
	if rec.Code != http.StatusCreated || rec.Header().Get("Location") != "/api/users/1" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var u User
	_ = json.Unmarshal(rec.Body.Bytes(), &u)
	if u.ID != 1 || u.Name != "Ada" {
		t.Fatalf("created %+v", u)
	}
	if rec := do(h, "POST", "/api/users", `{"name":"Ada 2","email":"ada@example.com"}`); rec.Code != http.StatusConflict {
		t.Errorf("duplicate email: %d", rec.Code)
	}
	for _, body := range []string{`{"name":"","email":"x@y"}`, `{"name":"x","email":"nope"}`, `[`} {
		if rec := do(h, "POST", "/api/users", body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", body, rec.Code)
		}
	}
	if rec := do(h, "GET", "/api/users/1", ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "ada@example.com") {
		t.Errorf("get: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "GET", "/api/users/2", ""); rec.Code != http.StatusNotFound {
		t.Errorf("missing: %d", rec.Code)
	}
	rec = do(h, "GET", "/api/users", "")
	var list []User
	_ = json.Unmarshal(rec.Body.Bytes(), &list)
	if rec.Code != http.StatusOK || len(list) != 1 {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "DELETE", "/api/users/1", ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", rec.Code)
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

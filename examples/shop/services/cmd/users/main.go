// users: the shop's customers. POST/GET /api/users, GET /api/users/{id},
// backed by its own Postgres database (DATABASE_URL).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"meshops.example/shop/internal/shop"
	"meshops.example/shop/internal/shopdb"
)

const (
	service     = "users"
	defaultPort = "8081"
	schema      = `CREATE TABLE IF NOT EXISTS users (
	id         BIGSERIAL PRIMARY KEY,
	name       TEXT NOT NULL,
	email      TEXT NOT NULL UNIQUE,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`
)

// User is one customer.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
)

// Store is where users live; Postgres in production, a map in tests.
type Store interface {
	Create(ctx context.Context, name, email string) (User, error)
	Get(ctx context.Context, id int64) (User, error)
	List(ctx context.Context) ([]User, error)
	Ping(ctx context.Context) error
}

func newMux(st Store) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			shop.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "service": service, "database": err.Error()})
			return
		}
		shop.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": service, "database": "ok"})
	})
	mux.HandleFunc("POST /api/users", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		if err := shop.DecodeJSON(r, &in); err != nil {
			shop.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		in.Name, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email)
		if in.Name == "" || !strings.Contains(in.Email, "@") {
			shop.WriteError(w, http.StatusBadRequest, "name and a valid email are required")
			return
		}
		u, err := st.Create(r.Context(), in.Name, in.Email)
		switch {
		case errors.Is(err, errConflict):
			shop.WriteError(w, http.StatusConflict, "email already registered")
		case err != nil:
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
		default:
			w.Header().Set("Location", "/api/users/"+strconv.FormatInt(u.ID, 10))
			shop.WriteJSON(w, http.StatusCreated, u)
		}
	})
	mux.HandleFunc("GET /api/users", func(w http.ResponseWriter, r *http.Request) {
		us, err := st.List(r.Context())
		if err != nil {
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		shop.WriteJSON(w, http.StatusOK, us)
	})
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id < 1 {
			shop.WriteError(w, http.StatusBadRequest, "id must be a positive integer")
			return
		}
		u, err := st.Get(r.Context(), id)
		switch {
		case errors.Is(err, errNotFound):
			shop.WriteError(w, http.StatusNotFound, "user not found")
		case err != nil:
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
		default:
			shop.WriteJSON(w, http.StatusOK, u)
		}
	})
	return mux
}

type pgStore struct{ db *shopdb.DB }

func (s pgStore) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func (s pgStore) Create(ctx context.Context, name, email string) (User, error) {
	u := User{Name: name, Email: email}
	err := s.db.Pool.QueryRow(ctx,
		`INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, created_at`, name, email).
		Scan(&u.ID, &u.CreatedAt)
	if shopdb.IsUniqueViolation(err) {
		return u, errConflict
	}
	return u, err
}

func (s pgStore) Get(ctx context.Context, id int64) (User, error) {
	var u User
	err := s.db.Pool.QueryRow(ctx, `SELECT id, name, email, created_at FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Name, &u.Email, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errNotFound
	}
	return u, err
}

func (s pgStore) List(ctx context.Context) ([]User, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, name, email, created_at FROM users ORDER BY id LIMIT 100`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	us := []User{}
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &u.CreatedAt); err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

func main() {
	logger := shop.NewLogger()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := shopdb.Open(ctx, service, os.Getenv("DATABASE_URL"), schema, logger)
	if err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
	err = shop.Run(service, defaultPort, shop.Handler(service, logger, newMux(pgStore{db})), logger)
	cancel()
	db.Close()
	if err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
}

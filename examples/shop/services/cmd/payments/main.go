// payments: charges for orders. POST /api/payments, GET /api/payments and
// GET /api/payments/{id}, backed by its own Postgres database (DATABASE_URL).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"meshops.example/shop/internal/shop"
	"meshops.example/shop/internal/shopdb"
)

const (
	service     = "payments"
	defaultPort = "8083"
	schema      = `CREATE TABLE IF NOT EXISTS payments (
	id           BIGSERIAL PRIMARY KEY,
	order_id     BIGINT NOT NULL,
	amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
	status       TEXT NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
)`
)

// Payment is one charge.
type Payment struct {
	ID          int64     `json:"id"`
	OrderID     int64     `json:"order_id"`
	AmountCents int64     `json:"amount_cents"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
}

var errNotFound = errors.New("not found")

// Store is where payments live; Postgres in production, a map in tests.
type Store interface {
	Create(ctx context.Context, p Payment) (Payment, error)
	Get(ctx context.Context, id int64) (Payment, error)
	List(ctx context.Context) ([]Payment, error)
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
	mux.HandleFunc("POST /api/payments", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			OrderID     int64 `json:"order_id"`
			AmountCents int64 `json:"amount_cents"`
		}
		if err := shop.DecodeJSON(r, &in); err != nil {
			shop.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		if in.OrderID < 1 || in.AmountCents < 1 {
			shop.WriteError(w, http.StatusBadRequest, "order_id and amount_cents must be positive")
			return
		}
		// A demo: every charge is captured.
		p, err := st.Create(r.Context(), Payment{OrderID: in.OrderID, AmountCents: in.AmountCents, Status: "captured"})
		if err != nil {
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Location", "/api/payments/"+strconv.FormatInt(p.ID, 10))
		shop.WriteJSON(w, http.StatusCreated, p)
	})
	mux.HandleFunc("GET /api/payments", func(w http.ResponseWriter, r *http.Request) {
		ps, err := st.List(r.Context())
		if err != nil {
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		shop.WriteJSON(w, http.StatusOK, ps)
	})
	mux.HandleFunc("GET /api/payments/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id < 1 {
			shop.WriteError(w, http.StatusBadRequest, "id must be a positive integer")
			return
		}
		p, err := st.Get(r.Context(), id)
		switch {
		case errors.Is(err, errNotFound):
			shop.WriteError(w, http.StatusNotFound, "payment not found")
		case err != nil:
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
		default:
			shop.WriteJSON(w, http.StatusOK, p)
		}
	})
	return mux
}

type pgStore struct{ db *shopdb.DB }

func (s pgStore) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

func (s pgStore) Create(ctx context.Context, p Payment) (Payment, error) {
	err := s.db.Pool.QueryRow(ctx,
		`INSERT INTO payments (order_id, amount_cents, status) VALUES ($1, $2, $3) RETURNING id, created_at`,
		p.OrderID, p.AmountCents, p.Status).Scan(&p.ID, &p.CreatedAt)
	return p, err
}

const cols = `id, order_id, amount_cents, status, created_at`

func scan(row pgx.Row) (Payment, error) {
	var p Payment
	err := row.Scan(&p.ID, &p.OrderID, &p.AmountCents, &p.Status, &p.CreatedAt)
	return p, err
}

func (s pgStore) Get(ctx context.Context, id int64) (Payment, error) {
	p, err := scan(s.db.Pool.QueryRow(ctx, `SELECT `+cols+` FROM payments WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, errNotFound
	}
	return p, err
}

func (s pgStore) List(ctx context.Context) ([]Payment, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+cols+` FROM payments ORDER BY id DESC LIMIT 100`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ps := []Payment{}
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
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

// orders: POST /api/orders creates an order and charges it through the
// payments service (PAYMENTS_SERVICE, POST /api/payments), storing the
// payment id with the order; GET /api/orders and GET /api/orders/{id}.
// Backed by its own Postgres database (DATABASE_URL).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	service     = "orders"
	defaultPort = "8082"
	schema      = `CREATE TABLE IF NOT EXISTS orders (
	id           BIGSERIAL PRIMARY KEY,
	user_id      BIGINT NOT NULL,
	product      TEXT NOT NULL,
	quantity     INTEGER NOT NULL CHECK (quantity > 0),
	amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
	status       TEXT NOT NULL,
	payment_id   BIGINT,
	created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
)`
)

// Order is one order; PaymentID is set once payments has charged it.
type Order struct {
	ID          int64     `json:"id"`
	UserID      int64     `json:"user_id"`
	Product     string    `json:"product"`
	Quantity    int       `json:"quantity"`
	AmountCents int64     `json:"amount_cents"`
	Status      string    `json:"status"`
	PaymentID   *int64    `json:"payment_id"`
	CreatedAt   time.Time `json:"created_at"`
}

var errNotFound = errors.New("not found")

// Store is where orders live; Postgres in production, a map in tests.
type Store interface {
	Create(ctx context.Context, o Order) (Order, error)
	SetPayment(ctx context.Context, id int64, paymentID *int64, status string) (Order, error)
	Get(ctx context.Context, id int64) (Order, error)
	List(ctx context.Context) ([]Order, error)
	Ping(ctx context.Context) error
}

type app struct {
	store    Store
	payments string // base URL of the payments service
	client   *http.Client
}

// charge asks payments to charge the order and returns the payment id. The
// request carries the trace headers of the request being served (in ctx).
func (a *app) charge(ctx context.Context, o Order) (int64, error) {
	req, err := shop.NewRequest(ctx, http.MethodPost, a.payments+"/api/payments",
		map[string]int64{"order_id": o.ID, "amount_cents": o.AmountCents})
	if err != nil {
		return 0, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("payments: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("payments: status %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var p struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ID < 1 {
		return 0, fmt.Errorf("payments: unexpected answer %q", body)
	}
	return p.ID, nil
}

func (a *app) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.store.Ping(ctx); err != nil {
			shop.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "service": service, "database": err.Error()})
			return
		}
		shop.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": service, "database": "ok"})
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UserID      int64  `json:"user_id"`
			Product     string `json:"product"`
			Quantity    int    `json:"quantity"`
			AmountCents int64  `json:"amount_cents"`
		}
		if err := shop.DecodeJSON(r, &in); err != nil {
			shop.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		if in.Quantity == 0 {
			in.Quantity = 1
		}
		in.Product = strings.TrimSpace(in.Product)
		if in.UserID < 1 || in.Product == "" || in.Quantity < 1 || in.AmountCents < 1 {
			shop.WriteError(w, http.StatusBadRequest, "user_id, product, quantity and amount_cents must be given and positive")
			return
		}
		o, err := a.store.Create(r.Context(), Order{
			UserID: in.UserID, Product: in.Product, Quantity: in.Quantity,
			AmountCents: in.AmountCents, Status: "pending",
		})
		if err != nil {
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		pid, cerr := a.charge(r.Context(), o)
		if cerr != nil {
			o, err = a.store.SetPayment(r.Context(), o.ID, nil, "payment_failed")
			if err != nil {
				shop.WriteError(w, http.StatusInternalServerError, err.Error())
				return
			}
			shop.WriteJSON(w, http.StatusBadGateway, map[string]any{"error": cerr.Error(), "order": o})
			return
		}
		o, err = a.store.SetPayment(r.Context(), o.ID, &pid, "paid")
		if err != nil {
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Location", "/api/orders/"+strconv.FormatInt(o.ID, 10))
		shop.WriteJSON(w, http.StatusCreated, o)
	})
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		list, err := a.store.List(r.Context())
		if err != nil {
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
			return
		}
		shop.WriteJSON(w, http.StatusOK, list)
	})
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id < 1 {
			shop.WriteError(w, http.StatusBadRequest, "id must be a positive integer")
			return
		}
		o, err := a.store.Get(r.Context(), id)
		switch {
		case errors.Is(err, errNotFound):
			shop.WriteError(w, http.StatusNotFound, "order not found")
		case err != nil:
			shop.WriteError(w, http.StatusInternalServerError, err.Error())
		default:
			shop.WriteJSON(w, http.StatusOK, o)
		}
	})
	return mux
}

type pgStore struct{ db *shopdb.DB }

func (s pgStore) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

const cols = `id, user_id, product, quantity, amount_cents, status, payment_id, created_at`

func scan(row pgx.Row) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.UserID, &o.Product, &o.Quantity, &o.AmountCents, &o.Status, &o.PaymentID, &o.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, errNotFound
	}
	return o, err
}

func (s pgStore) Create(ctx context.Context, o Order) (Order, error) {
	return scan(s.db.Pool.QueryRow(ctx,
		`INSERT INTO orders (user_id, product, quantity, amount_cents, status) VALUES ($1, $2, $3, $4, $5) RETURNING `+cols,
		o.UserID, o.Product, o.Quantity, o.AmountCents, o.Status))
}

func (s pgStore) SetPayment(ctx context.Context, id int64, paymentID *int64, status string) (Order, error) {
	return scan(s.db.Pool.QueryRow(ctx,
		`UPDATE orders SET payment_id = $2, status = $3 WHERE id = $1 RETURNING `+cols, id, paymentID, status))
}

func (s pgStore) Get(ctx context.Context, id int64) (Order, error) {
	return scan(s.db.Pool.QueryRow(ctx, `SELECT `+cols+` FROM orders WHERE id = $1`, id))
}

func (s pgStore) List(ctx context.Context) ([]Order, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+cols+` FROM orders ORDER BY id DESC LIMIT 100`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []Order{}
	for rows.Next() {
		o, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, o)
	}
	return list, rows.Err()
}

func main() {
	logger := shop.NewLogger()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := shopdb.Open(ctx, service, os.Getenv("DATABASE_URL"), schema, logger)
	if err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
	a := &app{
		store:    pgStore{db},
		payments: shop.ServiceURL("PAYMENTS_SERVICE", "http://payments:8083"),
		client:   &http.Client{Timeout: 5 * time.Second},
	}
	err = shop.Run(service, defaultPort, shop.Handler(service, logger, a.mux()), logger)
	cancel()
	db.Close()
	if err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
}

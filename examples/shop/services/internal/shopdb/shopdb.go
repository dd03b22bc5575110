// Package shopdb opens a service's Postgres database (DATABASE_URL) and keeps
// creating the service's table until the database answers, so a service can
// start before Postgres does and report unhealthy until then.
package shopdb

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DB is a connection pool plus whether the schema has been created.
type DB struct {
	Pool  *pgxpool.Pool
	ready atomic.Bool
}

// Open parses url and returns a pool without connecting yet; in the
// background it runs schema (idempotent DDL) until it succeeds or ctx ends.
func Open(ctx context.Context, service, url, schema string, logger *log.Logger) (*DB, error) {
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &DB{Pool: pool}
	go d.migrate(ctx, service, schema, logger)
	return d, nil
}

func (d *DB) migrate(ctx context.Context, service, schema string, logger *log.Logger) {
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := d.Pool.Exec(actx, schema)
		cancel()
		if err == nil {
			d.ready.Store(true)
			logger.Printf("service=%s msg=%q attempt=%d", service, "schema ready", attempt)
			return
		}
		logger.Printf("service=%s msg=%q attempt=%d error=%q", service, "database not ready", attempt, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}

// Ping reports whether the schema exists and the database answers now.
func (d *DB) Ping(ctx context.Context) error {
	if !d.ready.Load() {
		return errors.New("schema not created yet (database not reachable)")
	}
	return d.Pool.Ping(ctx)
}

// Close closes the pool.
func (d *DB) Close() { d.Pool.Close() }

// IsUniqueViolation reports whether err is a Postgres unique_violation.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

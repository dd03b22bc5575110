// api-gateway: the shop's single entry point. Routes /api/users...,
// /api/orders... and /api/payments... to the backends named by
// USERS_SERVICE, ORDERS_SERVICE and PAYMENTS_SERVICE; /health is 200 only
// when every backend's /health is.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"meshops.example/shop/internal/shop"
)

const (
	service     = "api-gateway"
	defaultPort = "8080"
)

type backend struct {
	name   string // users, orders, payments
	prefix string // /api/users
	base   string // http://users:8081
	proxy  *httputil.ReverseProxy
}

type gateway struct {
	backends []*backend
	client   *http.Client // for health checks
	logger   *log.Logger
}

func newGateway(urls map[string]string, logger *log.Logger) (*gateway, error) {
	g := &gateway{client: &http.Client{Timeout: 2 * time.Second}, logger: logger}
	for _, name := range []string{"users", "orders", "payments"} {
		base := urls[name]
		target, err := url.Parse(base)
		if err != nil || target.Host == "" {
			return nil, fmt.Errorf("backend %s: invalid URL %q", name, base)
		}
		b := &backend{name: name, prefix: "/api/" + name, base: base}
		b.proxy = &httputil.ReverseProxy{
			// Rewrite copies every end-to-end header of the incoming request,
			// the trace headers included, onto the proxied one.
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				logger.Printf("service=%s backend=%s error=%q", service, name, err)
				shop.WriteError(w, http.StatusBadGateway, name+" service unavailable")
			},
		}
		g.backends = append(g.backends, b)
	}
	return g, nil
}

// route returns the backend serving path, or nil.
func (g *gateway) route(path string) *backend {
	for _, b := range g.backends {
		if path == b.prefix || strings.HasPrefix(path, b.prefix+"/") {
			return b
		}
	}
	return nil
}

type backendHealth struct {
	URL    string `json:"url"`
	Status string `json:"status"` // ok | unhealthy
	Error  string `json:"error,omitempty"`
}

func (g *gateway) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	res := make(map[string]backendHealth, len(g.backends))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, b := range g.backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := backendHealth{URL: b.base, Status: "ok"}
			if err := shop.CheckHealth(ctx, g.client, b.base); err != nil {
				h.Status, h.Error = "unhealthy", err.Error()
			}
			mu.Lock()
			res[b.name] = h
			mu.Unlock()
		}()
	}
	wg.Wait()
	status, code := "ok", http.StatusOK
	for _, h := range res {
		if h.Status != "ok" {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
	}
	shop.WriteJSON(w, code, map[string]any{"status": status, "service": service, "backends": res})
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			shop.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		g.health(w, r)
		return
	}
	if b := g.route(r.URL.Path); b != nil {
		b.proxy.ServeHTTP(w, r)
		return
	}
	shop.WriteError(w, http.StatusNotFound, "no route for "+r.URL.Path)
}

func main() {
	logger := shop.NewLogger()
	g, err := newGateway(map[string]string{
		"users":    shop.ServiceURL("USERS_SERVICE", "http://users:8081"),
		"orders":   shop.ServiceURL("ORDERS_SERVICE", "http://orders:8082"),
		"payments": shop.ServiceURL("PAYMENTS_SERVICE", "http://payments:8083"),
	}, logger)
	if err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
	for _, b := range g.backends {
		logger.Printf("service=%s route=%s/ backend=%s", service, b.prefix, b.base)
	}
	if err := shop.Run(service, defaultPort, shop.Handler(service, logger, g), logger); err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
}

// frontend: serves the shop's single HTML page and proxies its /api/...
// calls to the API gateway (API_URL).
package main

import (
	_ "embed"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"

	"meshops.example/shop/internal/shop"
)

const (
	service     = "frontend"
	defaultPort = "3000"
)

//go:embed index.html
var indexHTML []byte

func newMux(apiURL string, logger *log.Logger) (*http.ServeMux, error) {
	target, err := url.Parse(apiURL)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("API_URL: invalid URL %q", apiURL)
	}
	api := &httputil.ReverseProxy{
		// Rewrite copies the incoming request's end-to-end headers, the
		// trace headers included, onto the request to the gateway.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Printf("service=%s backend=api error=%q", service, err)
			shop.WriteError(w, http.StatusBadGateway, "api unavailable")
		},
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		shop.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "service": service})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(indexHTML)
	})
	return mux, nil
}

func main() {
	logger := shop.NewLogger()
	apiURL := shop.ServiceURL("API_URL", "http://api-gateway:8080")
	mux, err := newMux(apiURL, logger)
	if err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
	logger.Printf("service=%s route=/api/ backend=%s", service, apiURL)
	if err := shop.Run(service, defaultPort, shop.Handler(service, logger, mux), logger); err != nil {
		log.Fatalf("service=%s error=%q", service, err)
	}
}

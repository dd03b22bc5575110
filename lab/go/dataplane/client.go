package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and balancers
)

const maxLatencySamples = 200000

// stats is what the client saw, per version, pod, status code and identity.
type stats struct {
	mu        sync.Mutex
	start     time.Time
	Target    string            `json:"target"`
	Calls     int               `json:"calls"`
	OK        int               `json:"ok"`
	Errors    int               `json:"errors"`
	ByVersion map[string]int    `json:"by_version"`
	ByPod     map[string]int    `json:"by_pod"`
	Codes     map[string]int    `json:"codes"`
	Messages  map[string]string `json:"error_samples"`
	// ServerIdentity: the SPIFFE ID of the server's certificate, as this client verified it
	// ("unknown" on a plaintext connection); CallerSeen: how the server saw this client.
	ServerIdentity map[string]int     `json:"server_identity"`
	CallerSeen     map[string]int     `json:"caller_seen_by_server"`
	Security       map[string]int     `json:"security"`
	ElapsedS       float64            `json:"elapsed_s"`
	LatencyMS      map[string]float64 `json:"latency_ms"`
	latencies      []float64
}

func newStats(target string) *stats {
	s := &stats{Target: target}
	s.reset()
	return s
}

func (s *stats) reset() {
	s.start = time.Now()
	s.Calls, s.OK, s.Errors = 0, 0, 0
	s.ByVersion, s.ByPod, s.Codes = map[string]int{}, map[string]int{}, map[string]int{}
	s.Messages = map[string]string{}
	s.ServerIdentity, s.CallerSeen, s.Security = map[string]int{}, map[string]int{}, map[string]int{}
	s.latencies = s.latencies[:0]
}

func (s *stats) record(resp *structpb.Struct, err error, p *peer.Peer, elapsed time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls++
	code := status.Code(err)
	s.Codes[code.String()]++
	if len(s.latencies) < maxLatencySamples {
		s.latencies = append(s.latencies, float64(elapsed.Microseconds())/1000)
	}
	if err != nil {
		s.Errors++
		if _, ok := s.Messages[code.String()]; !ok {
			s.Messages[code.String()] = status.Convert(err).Message()
		}
		return
	}
	s.OK++
	f := resp.GetFields()
	s.ByVersion[f["version"].GetStringValue()]++
	s.ByPod[f["pod"].GetStringValue()]++
	s.CallerSeen[f["caller"].GetStringValue()]++
	s.Security[f["security"].GetStringValue()]++
	serverID := "unknown"
	if p != nil {
		_, serverID = securityOf(p.AuthInfo)
	}
	s.ServerIdentity[serverID]++
}

// snapshot returns the stats as JSON, with elapsed time and latency percentiles.
func (s *stats) snapshot() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ElapsedS = time.Since(s.start).Seconds()
	s.LatencyMS = map[string]float64{}
	if n := len(s.latencies); n > 0 {
		sorted := append([]float64(nil), s.latencies...)
		sort.Float64s(sorted)
		for _, q := range []struct {
			name string
			q    float64
		}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1}} {
			i := int(q.q*float64(n)+0.5) - 1
			i = max(0, min(i, n-1))
			s.LatencyMS[q.name] = sorted[i]
		}
	}
	out, _ := json.MarshalIndent(s, "", "  ")
	return out
}

type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ",") }
func (h *headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		k, val, ok = strings.Cut(v, ":")
	}
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q: want NAME=VALUE", v)
	}
	*h = append(*h, strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val))
	return nil
}

func clientMain(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	target := fs.String("target", "", "xds:///SERVICE.NAMESPACE.svc.cluster.local:PORT")
	count := fs.Int("count", 100, "number of calls (0: until -duration, or forever)")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	rate := fs.Float64("rate", 0, "calls per second (0: as fast as -concurrency allows)")
	concurrency := fs.Int("concurrency", 8, "calls in flight at most")
	timeout := fs.Duration("timeout", 2*time.Second, "deadline of each call")
	source := fs.String("source-ip", os.Getenv("INSTANCE_IP"), "dial from this address (the pod IP)")
	statsAddr := fs.String("stats-addr", "", "serve the running counts as JSON on http://ADDR/stats (POST /reset clears them)")
	message := fs.String("message", "hello", "payload")
	var headers headerFlags
	fs.Var(&headers, "header", "NAME=VALUE sent with every call (repeatable)")
	ns := fs.String("namespace", envOr("POD_NAMESPACE", "unknown"), "source namespace (metrics label)")
	app := fs.String("app", "client", "source app (metrics label)")
	version := fs.String("version", "v1", "source version (metrics label)")
	workload := fs.String("workload", "", "source workload (default APP)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !strings.HasPrefix(*target, "xds:///") {
		return errors.New("-target must be xds:///SERVICE.NAMESPACE.svc.cluster.local:PORT")
	}
	if *concurrency < 1 {
		return errors.New("-concurrency must be at least 1")
	}
	if *workload == "" {
		*workload = *app
	}
	md := metadata.Pairs(append([]string{hdrSourceWorkload, *workload, hdrSourceNamespace, *ns,
		hdrSourceApp, *app, hdrSourceVersion, *version}, headers...)...)

	creds, err := xdscreds.NewClientCredentials(xdscreds.ClientOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		return err
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if *source != "" {
		dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(*source)}}
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		}))
	}
	conn, err := grpc.NewClient(*target, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()

	st := newStats(*target)
	if *statsAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(st.snapshot())
		})
		mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			st.mu.Lock()
			st.reset()
			st.mu.Unlock()
			fmt.Fprintln(w, "reset")
		})
		l, err := net.Listen("tcp", *statsAddr)
		if err != nil {
			return err
		}
		go func() { log.Print(http.Serve(l, mux)) }()
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if *duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; cancel() }()

	// Jobs: one token per call, paced by -rate; workers make the calls.
	jobs := make(chan struct{})
	go func() {
		defer close(jobs)
		var tick <-chan time.Time
		if *rate > 0 {
			t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
			defer t.Stop()
			tick = t.C
		}
		for i := 0; *count == 0 || i < *count; i++ {
			if tick != nil {
				select {
				case <-tick:
				case <-ctx.Done():
					return
				}
			}
			select {
			case jobs <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				callCtx, callCancel := context.WithTimeout(metadata.NewOutgoingContext(context.Background(), md), *timeout)
				var p peer.Peer
				resp := new(structpb.Struct)
				start := time.Now()
				err := conn.Invoke(callCtx, echoMethod, wrapperspb.String(*message), resp, grpc.Peer(&p))
				st.record(resp, err, &p, time.Since(start))
				callCancel()
			}
		}()
	}
	wg.Wait()
	_, err = os.Stdout.Write(append(st.snapshot(), '\n'))
	return err
}

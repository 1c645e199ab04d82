// go-kv is the peer benchmark for `vigil bench kv`: the same closed-loop
// load through etcd's official Go client (clientv3 from Debian's
// golang-etcd-server-dev), printing one JSON line per run.
//
// Build (offline): GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-kv main.go
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/clientv3"
)

type result struct {
	Workload string  `json:"workload"`
	Callers  int     `json:"callers"`
	Ops      int     `json:"ops"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

func main() {
	endpoints := flag.String("endpoints", "http://127.0.0.1:2379", "comma-separated client URLs")
	workload := flag.String("workload", "put", "put, get-serializable or get-linearizable")
	callers := flag.Int("callers", 1, "concurrent callers")
	duration := flag.Duration("duration", 5*time.Second, "how long to measure")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "load before measuring")
	valueSize := flag.Int("value-size", 100, "bytes per value")
	flag.Parse()

	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-kv:", err)
		os.Exit(1)
	}
	defer cli.Close()
	value := strings.Repeat("v", *valueSize)
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, err := cli.Put(ctx, fmt.Sprintf("/bench/%d", i), value); err != nil {
			fmt.Fprintln(os.Stderr, "go-kv: seeding:", err)
			os.Exit(1)
		}
	}

	op := func(i int) error {
		key := fmt.Sprintf("/bench/%d", i%1000)
		var err error
		switch *workload {
		case "put":
			_, err = cli.Put(ctx, key, value)
		case "get-serializable":
			_, err = cli.Get(ctx, key, clientv3.WithSerializable())
		default:
			_, err = cli.Get(ctx, key)
		}
		return err
	}

	start := time.Now()
	measureFrom := start.Add(*warmup)
	end := measureFrom.Add(*duration)
	var mu sync.Mutex
	var all []time.Duration
	errors := 0
	var wg sync.WaitGroup
	for c := 0; c < *callers; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var local []time.Duration
			localErrors := 0
			for i := c * 7919; ; i++ {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := op(i)
				t1 := time.Now()
				if t0.After(measureFrom) {
					if err != nil {
						localErrors++
					} else {
						local = append(local, t1.Sub(t0))
					}
				}
			}
			mu.Lock()
			all = append(all, local...)
			errors += localErrors
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000
	}
	out, _ := json.Marshal(result{*workload, *callers, len(all), errors, duration.Seconds(), pct(0.50), pct(0.99)})
	fmt.Println(string(out))
}

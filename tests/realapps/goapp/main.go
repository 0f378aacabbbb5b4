// A Go service as people write it: importing net/http/pprof for profiling registers
// /debug/pprof/ on http.DefaultServeMux. PPROF=public serves that mux; anything else serves a
// mux of its own (pprof, if wanted, belongs on a localhost-only port).
package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func items(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, `{"items": []}`)
}

func main() {
	mux := http.NewServeMux()
	if os.Getenv("PPROF") == "public" {
		mux = http.DefaultServeMux
	}
	mux.HandleFunc("/", items)
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), mux); err != nil {
		panic(err)
	}
}

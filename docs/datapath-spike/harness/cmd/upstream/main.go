// Tiny fake provider: ok ports answer a ~1 KB chat completion (or an SSE
// stream with a final usage chunk when the body has "stream":true) and echo
// what they saw in x-echo-* response headers; fail ports answer 500.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

var pad = strings.Repeat("lorem ipsum ", 70)

func main() {
	ok := flag.String("ok", "127.0.0.1:27181,127.0.0.1:27182", "ok listeners")
	fail := flag.String("fail", "127.0.0.1:27183", "500 listeners")
	verbose := flag.Bool("v", false, "log every request's path, host, authorization")
	flag.Parse()
	var n atomic.Int64
	h := func(failing bool, addr string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			n.Add(1)
			if *verbose {
				if bytes.Contains(body, []byte("transform")) || bytes.Contains(body, []byte("gpt-")) {
					b := body
					if len(b) > 120 {
						b = append(append([]byte{}, b[:60]...), b[len(b)-40:]...)
					}
					log.Printf("body: %s (content-length header %q, transfer-encoding %v, read %d)", b, r.Header.Get("Content-Length"), r.TransferEncoding, len(body))
				}
				log.Printf("%s %s %s host=%s auth=%q api-key=%q xl=%q set-by-f=%q len=%d", addr, r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Authorization"), r.Header.Get("Api-Key"), r.Header.Get("X-Llmgate-Group"), r.Header.Get("X-Set-By-F"), len(body))
			}
			w.Header().Set("x-echo-path", r.URL.RequestURI())
			w.Header().Set("x-echo-host", r.Host)
			w.Header().Set("x-echo-authorization", r.Header.Get("Authorization"))
			w.Header().Set("x-echo-upstream", addr)
			if failing {
				w.Header().Set("content-type", "application/json")
				w.WriteHeader(500)
				io.WriteString(w, `{"error":{"message":"boom","type":"api_error"}}`)
				return
			}
			if bytes.Contains(body, []byte(`"stream":true`)) {
				w.Header().Set("content-type", "text/event-stream")
				fl := w.(http.Flusher)
				for i := 0; i < 5; i++ {
					fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"}}]}\n\n", i)
					fl.Flush()
				}
				io.WriteString(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":5,\"total_tokens\":16}}\n\n")
				io.WriteString(w, "data: [DONE]\n\n")
				return
			}
			w.Header().Set("content-type", "application/json")
			fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","model":"gpt-x","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":200,"total_tokens":211}}`, pad)
		}
	}
	serve := func(addr string, failing bool) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			log.Fatal(err)
		}
		go http.Serve(l, h(failing, addr))
	}
	for _, a := range strings.Split(*ok, ",") {
		if a != "" {
			serve(a, false)
		}
	}
	for _, a := range strings.Split(*fail, ",") {
		if a != "" {
			serve(a, true)
		}
	}
	log.Printf("upstream ready")
	select {}
}

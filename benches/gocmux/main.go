// Command gocmux is the Go cmux server benches/loopback.sh measures beside
// connmux: examples/bench_server's mux mode written with
// github.com/soheilhy/cmux and Go's standard library, with the same routes
// and handlers, so the two compare the multiplexers and not the handlers.
//
//	$ gocmux --addr 127.0.0.1:0
//	addr=127.0.0.1:40123 pid=4242
//
// The routes are, in order: cmux.HTTP2() (the HTTP/2 preface) and
// cmux.HTTP1Fast() (the HTTP/1 methods) to the mini-HTTP handler, the
// prefix "SINK" to a handler that discards everything (for the bulk
// transfer), and cmux.Any() to an echo. Each route is a cmux listener
// whose accept loop starts a goroutine per connection, as an
// http.Server on a cmux listener does.
//
// It builds from Debian's packages (golang-go and
// golang-github-soheilhy-cmux-dev, which lay the libraries out in a
// GOPATH under /usr/share/gocode), so without a go.mod, in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o gocmux ./benches/gocmux
//
// benches/loopback.sh does that itself.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/soheilhy/cmux"
)

// response is the one answer: 200 with a six-byte body.
var response = []byte("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")

// headCapacity is the room for one request head (wrk and curl send well
// under 200 bytes); the echo reads this much at a time too.
const headCapacity = 4096

// sinkChunk is what the sink reads at a time.
const sinkChunk = 64 * 1024

// sinkPrefix is the first word of a connection the server discards.
const sinkPrefix = "SINK"

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "gocmux: %v\n", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := cmux.New(listener)
	go serve(mux.Match(cmux.HTTP2()), serveHTTP)
	go serve(mux.Match(cmux.HTTP1Fast()), serveHTTP)
	go serve(mux.Match(cmux.PrefixMatcher(sinkPrefix)), sink)
	go serve(mux.Match(cmux.Any()), echo)
	// The start-up line of examples/bench_server, which the script reads.
	fmt.Printf("addr=%s pid=%d\n", listener.Addr(), os.Getpid())
	return mux.Serve()
}

// serve runs handler on a goroutine of its own for each connection route
// accepts, until the multiplexer closes.
func serve(route net.Listener, handler func(net.Conn)) {
	for {
		conn, err := route.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			handler(conn)
		}()
	}
}

// serveHTTP reads request heads (up to the blank line) and answers each
// with response, until the client closes, sends "Connection: close", or
// sends a head too big for the buffer.
func serveHTTP(conn net.Conn) {
	var buffer [headCapacity]byte
	filled := 0
	for {
		length := headLength(buffer[:filled])
		for length < 0 {
			if filled == len(buffer) {
				return
			}
			count, err := conn.Read(buffer[filled:])
			if count == 0 || err != nil {
				return
			}
			filled += count
			length = headLength(buffer[:filled])
		}
		close := asksToClose(buffer[:length])
		if _, err := conn.Write(response); err != nil || close {
			return
		}
		filled = copy(buffer[:], buffer[length:filled])
	}
}

// sink reads and discards everything until the client closes.
func sink(conn net.Conn) {
	chunk := make([]byte, sinkChunk)
	for {
		if count, err := conn.Read(chunk); count == 0 || err != nil {
			return
		}
	}
}

// echo sends back whatever arrives until the client closes.
func echo(conn net.Conn) {
	var chunk [headCapacity]byte
	for {
		count, err := conn.Read(chunk[:])
		if count == 0 || err != nil {
			return
		}
		if _, err := conn.Write(chunk[:count]); err != nil {
			return
		}
	}
}

// headLength is the length of the request head at the start of head, blank
// line included, or -1 until it has all arrived.
func headLength(head []byte) int {
	at := bytes.Index(head, []byte("\r\n\r\n"))
	if at < 0 {
		return -1
	}
	return at + 4
}

// asksToClose says whether a header line of head is "Connection: close"
// (RFC 9110 section 7.6.1: a list of tokens, compared case-insensitively).
func asksToClose(head []byte) bool {
	lines := bytes.Split(head, []byte("\n"))
	for _, line := range lines[1:] {
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !equalFoldASCII(line[:colon], "connection") {
			continue
		}
		for _, token := range bytes.Split(line[colon+1:], []byte(",")) {
			if equalFoldASCII(trimASCII(token), "close") {
				return true
			}
		}
	}
	return false
}

// The two helpers below do what Rust's trim_ascii and eq_ignore_ascii_case
// do for bench_server, so that the handlers agree byte for byte (Go's
// bytes.TrimSpace also trims a vertical tab, and bytes.EqualFold folds
// Unicode: "ſ" is an "s" to it).

// trimASCII trims spaces, tabs, line feeds, form feeds and carriage returns.
func trimASCII(field []byte) []byte {
	return bytes.Trim(field, " \t\n\f\r")
}

// equalFoldASCII says whether field is word with ASCII letters compared
// case-insensitively.
func equalFoldASCII(field []byte, word string) bool {
	if len(field) != len(word) {
		return false
	}
	for i := range field {
		if lowerASCII(field[i]) != lowerASCII(word[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

package bench

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/config"
)

// CeilingResponse is the ceiling server's fixed answer: a realistic 2.6
// BidResponse with one banner bid and its notice URLs, 600 B or so like
// rtbd's answers (see reference/this-machine.md, "618 B response").
const CeilingResponse = `{"id":"1234567890","bidid":"ceiling-bid-0001","cur":"USD","seatbid":[{"seat":"rtbd","bid":[{"id":"ceiling-bid-0001-1","impid":"1","price":1.2345,"adid":"ad-300x250-1","cid":"campaign-17","crid":"creative-300x250-1","adomain":["advertiser.example.com"],"cat":["IAB1"],"mtype":1,"w":300,"h":250,"nurl":"https://win.rtbd.example/win?bid=ceiling-bid-0001&c=campaign-17&p=${AUCTION_PRICE}","burl":"https://win.rtbd.example/bill?bid=ceiling-bid-0001&c=campaign-17&p=${AUCTION_PRICE}","adm":"<a href=\"https://advertiser.example.com/landing\"><img src=\"https://cdn.rtbd.example/c/300x250-1.png\" width=\"300\" height=\"250\"></a>"}]}]}`

// ceilingHandler answers every POST with CeilingResponse after reading the
// body (fasthttp reads it whole before the handler runs; the handler also
// touches it so the read cannot be optimised away), and anything else with
// 405.
func ceilingHandler(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	if len(ctx.PostBody()) == 0 {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.SetBytesKV(openrtbVersionKey, openrtbVersionValue)
	ctx.Response.SetBodyRaw(ceilingBody)
}

// padAnswer returns CeilingResponse grown to n bytes with a "pad" string
// in the response ext (unchanged when n is too small for the ext),
// to measure what a larger answer costs the HTTP stack alone.
func padAnswer(n int) []byte {
	const head = `{"ext":{"pad":"`
	const tail = `"},` // followed by CeilingResponse without its '{'
	b := []byte(CeilingResponse)
	extra := n - len(b) - len(head) - len(tail) + 1
	if extra < 0 {
		return b
	}
	out := make([]byte, 0, n)
	out = append(out, head...)
	for range extra {
		out = append(out, 'x')
	}
	out = append(out, tail...)
	return append(out, b[1:]...)
}

var (
	ceilingBody         = []byte(CeilingResponse)
	contentTypeJSON     = []byte("application/json")
	openrtbVersionKey   = []byte("X-Openrtb-Version")
	openrtbVersionValue = []byte("2.6")
)

// newCeilingServer returns the fixed-response server, configured like
// rtbd's bid listener (daemon/server) where it matters for cost: no Date
// header, no default content type, no multipart pre-parsing, and rtbd's
// default response buffer (one write per answer up to 16 KiB).
func newCeilingServer() *fasthttp.Server {
	return &fasthttp.Server{
		WriteBufferSize:              config.Default().HTTP.WriteBufferBytes,
		Handler:                      ceilingHandler,
		Name:                         "rtbd-ceiling",
		ReadTimeout:                  5 * time.Second,
		WriteTimeout:                 5 * time.Second,
		IdleTimeout:                  time.Minute,
		NoDefaultDate:                true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
	}
}

// ceilingMain serves the ceiling until SIGTERM or SIGINT: the hidden
// `rtbload bench ceiling -listen ADDR` mode the bench starts as a child.
// rtbload's main has already re-executed it with the runtime setting rtbd
// starts with (host.ExecQuietSysmon), as it does for every mode.
func ceilingMain(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtbload bench ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "Loopback address to serve the fixed response on.")
	answerBytes := fs.Int("answer-bytes", 0, "Pad the fixed answer to this many bytes (e.g. 7000, a CTV pod's size) to measure what answer size costs the HTTP stack; 0 keeps it as it is.")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *answerBytes < 0 || *answerBytes > 1<<20 {
		fmt.Fprintln(stderr, "rtbload bench ceiling: -answer-bytes must be in [0, 1048576]")
		return 2
	}
	ceilingBody = padAnswer(*answerBytes)
	if err := checkLoopback(*listen); err != nil {
		fmt.Fprintln(stderr, "rtbload bench ceiling:", err)
		return 2
	}
	ln, err := net.Listen("tcp4", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "rtbload bench ceiling: cannot listen:", err)
		return 1
	}
	srv := newCeilingServer()
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		_ = srv.Shutdown()
	}()
	fmt.Fprintln(stderr, "rtbload bench ceiling: serving on", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(stderr, "rtbload bench ceiling:", err)
		return 1
	}
	return 0
}

// checkLoopback refuses an address whose host is not a loopback IP.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("cannot parse address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not on loopback", addr)
	}
	return nil
}

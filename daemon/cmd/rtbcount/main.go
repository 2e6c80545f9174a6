// Command rtbcount runs rtbd's bid handler over a request set in a loop of
// one goroutine, for `bench/icount.sh`, which counts the instructions it
// executes per request under valgrind's callgrind. On a shared machine
// whose timings move by 2x from one hour to the next, an instruction count
// is the stable measure of the handler's CPU work: it changes only when
// the code or the data do.
//
//	rtbcount -set ctv -campaigns 1000 -rounds 20
//
// The handler is the one rtbd serves with (daemon/server), called as
// fasthttp calls it once the body is read, like BenchmarkHandler: no
// sockets. Every request is answered twice before the counted loop, so
// that the loop runs in steady state (pools filled, scratch grown), and
// callgrind counts only that loop, [measure].
//
// With -evict, the loop writes that many bytes of a buffer of its own
// before each request, so that the request starts with the CPU's private
// caches cold, as it does under load; icount.sh then simulates the caches
// and counts the misses of [answer] alone, the eviction not counted.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/valyala/fasthttp"

	"github.com/rtbd/rtbd/daemon/campaign"
	"github.com/rtbd/rtbd/daemon/corpus"
	"github.com/rtbd/rtbd/daemon/server"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtbcount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := fs.String("set", "ctv", "Requests and campaigns: 'corpus' (the shared corpus on the demo book), 'demo-ctv' (synthetic CTV requests on the demo book), 'ctv' or 'banner' (synthetic requests on -campaigns generated campaigns).")
	n := fs.Int("campaigns", 1000, "Generated campaigns for -set ctv and banner (1 to 100000); cached in the user cache directory.")
	requests := fs.Int("requests", 64, "Synthetic requests to cycle through (1 to 4096).")
	rounds := fs.Int("rounds", 10, "Passes over the requests in the counted loop (1 to 100000).")
	evict := fs.Int("evict", 0, "Bytes written before each counted request to evict the CPU's caches (0 to 1<<30; 0: none).")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 || *n > 100000 || *requests < 1 || *requests > 4096 || *rounds < 1 || *rounds > 100000 || *evict < 0 || *evict > 1<<30 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "rtbcount: -campaigns must be in [1, 100000], -requests in [1, 4096], -rounds in [1, 100000], -evict in [0, 1<<30], and no arguments")
		return 2
	}
	dir, bodies := "", [][]byte(nil)
	switch *set {
	case "corpus":
		for _, f := range corpus.Requests() {
			bodies = append(bodies, f.Body)
		}
	case "demo-ctv":
		bodies = campaign.GenerateCTVRequests(*requests, 1)
	case "ctv", "banner":
		var err error
		if dir, err = campaign.CachedDataSet(*n); err != nil {
			fmt.Fprintln(stderr, "rtbcount:", err)
			return 1
		}
		if *set == "ctv" {
			bodies = campaign.GenerateCTVRequests(*requests, 1)
		} else {
			bodies = campaign.GenerateBannerRequests(campaign.Generate(*n, 1), *requests)
		}
	default:
		fmt.Fprintf(stderr, "rtbcount: unknown -set %q: want corpus, demo-ctv, ctv or banner\n", *set)
		return 2
	}
	srv, err := server.NewBench(dir)
	if err != nil {
		fmt.Fprintln(stderr, "rtbcount:", err)
		return 1
	}
	h := srv.Handler
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/openrtb2/bid")
	drive(h, &ctx, bodies, 2) // steady state first
	bids := measure(h, &ctx, bodies, *rounds, make([]byte, *evict))
	fmt.Fprintf(stdout, "requests %d bids %d\n", *rounds*len(bodies), bids)
	return 0
}

// measure is drive, under a name of its own for callgrind to count
// (--toggle-collect=main.measure): the passes before it are not counted.
// With a non-empty evict buffer, each request is answered by [answer]
// after the buffer is written.
//
//go:noinline
func measure(h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, bodies [][]byte, rounds int, evict []byte) int {
	if len(evict) == 0 {
		return drive(h, ctx, bodies, rounds)
	}
	bids := 0
	for range rounds {
		for _, b := range bodies {
			for i := 0; i < len(evict); i += 64 {
				evict[i]++
			}
			if answer(h, ctx, b) {
				bids++
			}
		}
	}
	return bids
}

// answer has h answer body, and reports whether it was a bid (200). It is
// the function callgrind counts (--toggle-collect=main.answer) when the
// caches are evicted between requests.
//
//go:noinline
func answer(h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, body []byte) bool {
	return serve(h, ctx, body)
}

// serve has h answer body as fasthttp does once it has read it, and
// reports whether the answer was a bid (200). drive calls it rather than
// answer, whose calls callgrind counts in the cold mode. The response is
// cleared as fasthttp's server clears it, keeping the body's buffer:
// Response.Reset would hand the buffer to fasthttp's pool and count a
// pool Get and Put in every request that the server never makes.
func serve(h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, body []byte) bool {
	ctx.Request.SetBody(body)
	ctx.Response.Header.Reset()
	ctx.Response.SetBodyString("")
	h(ctx)
	return ctx.Response.StatusCode() == fasthttp.StatusOK
}

// drive answers each of bodies rounds times with h and returns how many
// answers were bids (200).
//
//go:noinline
func drive(h fasthttp.RequestHandler, ctx *fasthttp.RequestCtx, bodies [][]byte, rounds int) int {
	bids := 0
	for range rounds {
		for _, b := range bodies {
			if serve(h, ctx, b) {
				bids++
			}
		}
	}
	return bids
}

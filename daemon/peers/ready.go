package peers

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// PeerReadiness is what a round of [WaitReady] found of one peer.
type PeerReadiness struct {
	URL   string // the peer's base URL, as state.peers lists it
	Ready bool
	// Older: the peer answered 404 for ReadyPath, an rtbd from before
	// it, and counts as ready because it answers.
	Older bool
	Err   error // why it is not ready: its answer, or the request's error
}

// WaitReady asks each peer (the base URLs of state.peers) for [ReadyPath]
// every interval until all of them answer ready in the same round, or
// ctx ends. It checks https:// peers against roots (nil: the system's);
// ReadyPath needs no token. progress, unless nil, gets every round's
// findings. It returns nil once all are ready, else ctx's error with the
// peers that were not, and why.
//
// A host restarts without its peers ready only at the cost of the VIP:
// the NixOS module's credential restart waits for this before it
// restarts rtbd, so that two hosts whose secrets changed at the same
// moment restart one after the other.
func WaitReady(ctx context.Context, urls []string, roots *x509.CertPool, interval time.Duration, progress func([]PeerReadiness)) error {
	client := &http.Client{Transport: httpsTransport(roots), Timeout: interval}
	defer client.CloseIdleConnections()
	found, last := make([]PeerReadiness, len(urls)), []PeerReadiness(nil)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		all := true
		for i, u := range urls {
			found[i] = askReady(ctx, client, u)
			all = all && found[i].Ready
		}
		if all {
			if progress != nil {
				progress(found)
			}
			return nil
		}
		// A round that ctx cut short tells nothing of the peers: the
		// error names those of the last whole round.
		if ctx.Err() == nil {
			if progress != nil {
				progress(found)
			}
			last = append(last[:0], found...)
		}
		select {
		case <-ctx.Done():
			if last == nil {
				return fmt.Errorf("%w: no round of requests finished", ctx.Err())
			}
			var not []string
			for _, f := range last {
				if !f.Ready {
					not = append(not, fmt.Sprintf("%s (%v)", f.URL, f.Err))
				}
			}
			return fmt.Errorf("%w: not ready: %s", ctx.Err(), strings.Join(not, ", "))
		case <-tick.C:
		}
	}
}

// askReady asks the peer at base URL u whether it is ready.
func askReady(ctx context.Context, client *http.Client, u string) PeerReadiness {
	r := PeerReadiness{URL: u}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(u, "/")+ReadyPath, nil)
	if err != nil {
		r.Err = err
		return r
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	switch resp.StatusCode {
	case http.StatusOK:
		r.Ready = true
	case http.StatusNotFound:
		r.Ready, r.Older = true, true
	case http.StatusUnauthorized:
		r.Err = fmt.Errorf("%s: it asks for a token, which rtbd does not for %s", resp.Status, ReadyPath)
	default:
		r.Err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return r
}

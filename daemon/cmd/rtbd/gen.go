package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/rtbd/rtbd/daemon/campaign"
)

// genMain implements `rtbd gen`: a synthetic data set for benchmarks.
func genMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rtbd gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("campaigns", 1000, "Number of campaigns to generate (1 to 100000).")
	seed := fs.Int64("seed", 1, "Random seed; the same seed gives the same data set.")
	out := fs.String("out", "", "Directory to write campaigns.json, model.json and requests/ into (required).")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || *n < 1 || *n > 100000 {
		fmt.Fprintln(stderr, "rtbd gen: -out is required and -campaigns must be in [1, 100000]")
		return 2
	}
	if err := campaign.WriteDataSet(*out, *n, *seed); err != nil {
		fmt.Fprintln(stderr, "rtbd gen:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %d campaigns to %s\n", *n, *out)
	return 0
}

package main

import (
	_ "github.com/VictoriaMetrics/metrics"
	_ "github.com/cespare/xxhash/v2"
	_ "github.com/coreos/go-systemd/v22/daemon"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/valyala/fasthttp"
	_ "golang.org/x/sys/unix"
)

func main() {}

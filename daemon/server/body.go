package server

import (
	"bytes"
	"errors"
	"io"

	"github.com/klauspost/compress/gzip"
)

// errTooLarge means the inflated body exceeded the configured limit.
var errTooLarge = errors.New("request body too large")

// inflater gunzips request bodies into a reused buffer, stopping at a limit
// so that a gzip bomb costs at most limit+1 bytes of memory. It is part of a
// pooled bidCtx: the klauspost reader and its window are reused across
// requests (a new compress/gzip reader per request costs ~41 KB of garbage).
type inflater struct {
	src bytes.Reader
	zr  *gzip.Reader
	buf []byte
}

// inflate returns the decompressed src. The result aliases the inflater's
// buffer and is valid until the next call.
func (f *inflater) inflate(src []byte, limit int) ([]byte, error) {
	f.src.Reset(src)
	if f.zr == nil {
		zr, err := gzip.NewReader(&f.src)
		if err != nil {
			return nil, err
		}
		f.zr = zr
	} else if err := f.zr.Reset(&f.src); err != nil {
		return nil, err
	}
	buf := f.buf[:0]
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				f.buf = buf[:0]
				return nil, errTooLarge
			}
			buf = growTo(buf, min(2*cap(buf)+4096, limit+1))
		}
		n, err := f.zr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			f.buf = buf[:0]
			return nil, errTooLarge
		}
		if err == io.EOF {
			f.buf = buf[:0]
			return buf, nil
		}
		if err != nil {
			f.buf = buf[:0]
			return nil, err
		}
	}
}

// growTo returns b with capacity at least n, keeping its contents.
func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b
	}
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}

// deflater gzips response bodies into a reused buffer with a reused
// klauspost writer. fasthttp.AppendGzipBytesLevel would allocate two small
// objects per call.
type deflater struct {
	zw  *gzip.Writer
	out bytes.Buffer
}

// deflate returns src gzipped at the fastest level; the result aliases the
// deflater's buffer and is valid until the next call.
func (d *deflater) deflate(src []byte) []byte {
	d.out.Reset()
	if d.zw == nil {
		zw, err := gzip.NewWriterLevel(&d.out, gzip.BestSpeed)
		if err != nil {
			panic("BUG: gzip.BestSpeed rejected: " + err.Error())
		}
		d.zw = zw
	} else {
		d.zw.Reset(&d.out)
	}
	// Writes into memory cannot fail.
	_, _ = d.zw.Write(src)
	_ = d.zw.Close()
	return d.out.Bytes()
}

package openrtb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// oracleRequest is the encoding/json view used as the oracle. Fields that
// exchanges send with drifting types are `any` and decoded with UseNumber,
// then coerced the way the lenient parser documents.
type oracleRequest struct {
	ID  any `json:"id"`
	Imp []struct {
		ID          any    `json:"id"`
		BidFloor    any    `json:"bidfloor"`
		BidFloorCur string `json:"bidfloorcur"`
		PMP         *struct {
			Deals []struct {
				ID       any `json:"id"`
				BidFloor any `json:"bidfloor"`
			} `json:"deals"`
		} `json:"pmp"`
	} `json:"imp"`
	TMax   any   `json:"tmax"`
	Cur    []any `json:"cur"`
	Device *struct {
		DeviceType any    `json:"devicetype"`
		OS         string `json:"os"`
	} `json:"device"`
	App *struct {
		Bundle any `json:"bundle"`
	} `json:"app"`
	Site *struct {
		Domain any `json:"domain"`
		Page   any `json:"page"`
	} `json:"site"`
}

func oracleText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return fmt.Sprintf("<%T>", v)
}

func oracleFloat(t *testing.T, v any) float64 {
	t.Helper()
	s := oracleText(v)
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("oracle cannot parse number %q: %s", s, err)
	}
	return f
}

func (o *oracleRequest) summary(t *testing.T) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "id=%s tmax=%d cur=", oracleText(o.ID), int(math.Trunc(oracleFloat(t, o.TMax))))
	for _, c := range o.Cur {
		fmt.Fprintf(&b, "%s,", oracleText(c))
	}
	for _, im := range o.Imp {
		fmt.Fprintf(&b, " imp=%s floor=%g %s", oracleText(im.ID), oracleFloat(t, im.BidFloor), im.BidFloorCur)
		if im.PMP != nil {
			for _, d := range im.PMP.Deals {
				fmt.Fprintf(&b, " deal=%s@%g", oracleText(d.ID), oracleFloat(t, d.BidFloor))
			}
		}
	}
	if o.Device != nil {
		fmt.Fprintf(&b, " devicetype=%d os=%s", int(oracleFloat(t, o.Device.DeviceType)), o.Device.OS)
	}
	if o.App != nil {
		fmt.Fprintf(&b, " bundle=%s", oracleText(o.App.Bundle))
	}
	if o.Site != nil {
		fmt.Fprintf(&b, " domain=%s page=%s", oracleText(o.Site.Domain), oracleText(o.Site.Page))
	}
	return b.String()
}

func (r *Request) summary(hasDevice bool) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "id=%s tmax=%d cur=", r.ID, r.TMax)
	for _, c := range r.Cur {
		fmt.Fprintf(&b, "%s,", c)
	}
	for i := range r.Imps {
		im := &r.Imps[i]
		fmt.Fprintf(&b, " imp=%s floor=%g %s", im.ID, im.BidFloor, im.BidFloorCur)
		for _, d := range im.PMP.Deals {
			fmt.Fprintf(&b, " deal=%s@%g", d.ID, d.BidFloor)
		}
	}
	if hasDevice {
		fmt.Fprintf(&b, " devicetype=%d os=%s", r.Device.Type, r.Device.OS)
	}
	if r.App.Present {
		fmt.Fprintf(&b, " bundle=%s", r.App.Bundle)
	}
	if r.Site.Present {
		fmt.Fprintf(&b, " domain=%s page=%s", r.Site.Domain, r.Site.Page)
	}
	return b.String()
}

// TestParseMatchesEncodingJSON cross-checks the parser against
// encoding/json on every corpus request.
func TestParseMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var r Request
	for _, f := range corpus.Requests() {
		var o oracleRequest
		d := json.NewDecoder(bytes.NewReader(f.Body))
		d.UseNumber()
		if err := d.Decode(&o); err != nil {
			t.Fatalf("oracle cannot decode %s: %s", f.Name, err)
		}
		if err := r.Parse(f.Body); err != nil {
			t.Fatalf("cannot parse %s: %s", f.Name, err)
		}
		if got, want := r.summary(o.Device != nil), o.summary(t); got != want {
			t.Errorf("%s: parser and encoding/json disagree:\ngot  %s\nwant %s", f.Name, got, want)
		}
	}
}

package openrtb

import (
	"errors"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

// strictRejects lists the valid corpus requests that a strict exchange
// would still reject, with the reason. They are real requests that send both site and app, and RTB4Free fyber videos without mimes. Every
// other corpus request must pass Validate.
var strictRejects = map[string]string{
	"pbs__adapter-in-mediasquare-4-imps-multiformat.json":      "site, app and dooh are mutually exclusive",
	"pbs__adapter-out-rubicon-2.5-2.6-transition.json":         "site, app and dooh are mutually exclusive",
	"pbs__adapter-out-silverpush-banner-ctv-device.json":       "site, app and dooh are mutually exclusive",
	"pbs__adapter-out-smartadserver-native-app-eur-floor.json": "site, app and dooh are mutually exclusive",
	"rtb4free__fyberDisplay640x480.json":                       "imp.video has no mimes",
	"rtb4free__fyberMobileInApp.json":                          "imp.video has no mimes",
	"rtb4free__fyberVideoPvtMkt.json":                          "imp.video has no mimes",
}

func TestValidateCorpus(t *testing.T) {
	t.Parallel()
	var r Request
	for _, f := range corpus.Requests() {
		if err := r.Parse(f.Body); err != nil {
			t.Fatalf("cannot parse %s: %s", f.Name, err)
		}
		got := ""
		var ve *ValidationError
		if err := r.Validate(); errors.As(err, &ve) {
			got = ve.Msg
		} else if err != nil {
			t.Fatalf("%s: Validate returned %T, not *ValidationError: %s", f.Name, err, err)
		}
		if want := strictRejects[f.Name]; got != want {
			t.Errorf("%s: unexpected Validate result %q; want %q", f.Name, got, want)
		}
	}
}

package openrtb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rtbd/rtbd/daemon/corpus"
)

func mustParse(t *testing.T, body string) *Request {
	t.Helper()
	var r Request
	if err := r.Parse([]byte(body)); err != nil {
		t.Fatalf("cannot parse %q: %s", body, err)
	}
	return &r
}

func corpusFile(t *testing.T, name string) []byte {
	t.Helper()
	for _, f := range corpus.Requests() {
		if f.Name == name {
			return f.Body
		}
	}
	t.Fatalf("corpus file %q not found", name)
	return nil
}

func TestParseCorpus(t *testing.T) {
	t.Parallel()
	var r Request
	for _, f := range corpus.Requests() {
		if err := r.Parse(f.Body); err != nil {
			t.Errorf("cannot parse %s: %s", f.Name, err)
		}
	}
}

func TestParseCorpusFields(t *testing.T) {
	t.Parallel()
	parse := func(name string) *Request {
		var r Request
		if err := r.Parse(corpusFile(t, name)); err != nil {
			t.Fatalf("cannot parse %s: %s", name, err)
		}
		return &r
	}
	eq := func(name, field string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %s = %v; want %v", name, field, got, want)
		}
	}
	s := func(b []byte) string { return string(b) }

	n := "iab__2.6-video.json"
	r := parse(n)
	v := &r.Imps[0].Video
	eq(n, "id", s(r.ID), "1234567893")
	eq(n, "tmax", r.TMax, 120)
	eq(n, "bidfloor", r.Imps[0].BidFloor, 0.03)
	eq(n, "media", r.Imps[0].Media, MediaVideo)
	eq(n, "mimes", len(v.Mimes), 3)
	eq(n, "mimes[1]", s(v.Mimes[1]), "video/mp4")
	eq(n, "protocols", v.Protocols, []int{2, 3})
	eq(n, "dur", [2]int{v.MinDur, v.MaxDur}, [2]int{5, 30})
	eq(n, "bitrate", [2]int{v.MinBitrate, v.MaxBitrate}, [2]int{300, 1500})
	eq(n, "site.domain", s(r.Site.Domain), "siteabcd.com")
	eq(n, "segments", len(r.User.Segments), 2)
	eq(n, "segment[1]", s(r.User.Segments[1]), "1234131839491234")
	eq(n, "gdpr", r.Regs.GDPR, -1)

	n = "pbs__adapter-out-ix-structured-pod.json"
	r = parse(n)
	eq(n, "imps", len(r.Imps), 2)
	for i, slot := range []int{1, -1} {
		v := &r.Imps[i].Video
		eq(n, "podid", s(v.PodID), "1")
		eq(n, "podseq", v.PodSeq, 1)
		eq(n, "slotinpod", v.SlotInPod, slot)
		eq(n, "w/h", [2]int{v.W, v.H}, [2]int{940, 560})
		eq(n, "protocols", v.Protocols, []int{2, 3, 5, 6, 7, 8})
	}

	n = "pbs__adapter-out-rubicon-2.5-2.6-transition.json"
	r = parse(n)
	eq(n, "gdpr from regs.ext", r.Regs.GDPR, 1)
	eq(n, "us_privacy from regs.ext", s(r.Regs.USPrivacy), "us_privacy")
	eq(n, "consent from user.ext", s(r.User.Consent), "consent")
	eq(n, "schain", [3]any{r.Source.SChainPresent, r.Source.SChainComplete, r.Source.SChainNodes}, [3]any{true, 0, 1})
	eq(n, "segments", len(r.User.Segments), 5)
	eq(n, "device.ip", s(r.Device.IP), "123.123.123.123")
	eq(n, "device.ifa", s(r.Device.IFA), "zxcjbzxmc-zxcbmz-zxbcz-zxczx")

	n = "pbs__adapter-out-eskimi-gdpr-usp-gpp-coppa.json"
	r = parse(n)
	eq(n, "coppa", r.Regs.COPPA, 1)
	eq(n, "gdpr", r.Regs.GDPR, 1)
	eq(n, "us_privacy", s(r.Regs.USPrivacy), "1YYY")
	eq(n, "gpp", s(r.Regs.GPP), "DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA")
	eq(n, "gpp_sid", r.Regs.GPPSID, []int{7, 8})
	eq(n, "consent", s(r.User.Consent), "CO12345abcdefghijklmnopqrstuvwxyz")

	n = "pbs__adapter-out-amx-video-schain-eids-gdpr-usp.json"
	r = parse(n)
	eq(n, "id", s(r.ID), "TL3JS6F43CKNDQFY")
	eq(n, "schain", [3]any{r.Source.SChainPresent, r.Source.SChainComplete, r.Source.SChainNodes}, [3]any{true, 1, 1})
	eq(n, "eids", len(r.User.EIDs), 1)
	eq(n, "eid", s(r.User.EIDs[0].Source)+" "+s(r.User.EIDs[0].UID), "amxid 88de601e-3d98-48e7-81d7-00000000")
	eq(n, "gdpr", r.Regs.GDPR, 0)
	eq(n, "us_privacy", s(r.Regs.USPrivacy), "1---")
	eq(n, "placement", r.Imps[0].Video.Placement, 1)
	eq(n, "dur", [2]int{r.Imps[0].Video.MinDur, r.Imps[0].Video.MaxDur}, [2]int{6, 90})
}

func TestParseLenient(t *testing.T) {
	t.Parallel()
	const imp = `"imp":[{"id":"1","banner":{"w":300,"h":250}}]`
	f := func(body string, check func(r *Request) string) {
		t.Helper()
		r := mustParse(t, body)
		if msg := check(r); msg != "" {
			t.Fatalf("unexpected result for %s: %s", body, msg)
		}
	}
	want := func(got, want any) string {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("got %v; want %v", got, want)
		}
		return ""
	}
	// Numbers as strings, floats for ints, ids as numbers, booleans as ints.
	f(`{"id":123,`+imp+`,"tmax":"120","at":2.0,"test":true}`, func(r *Request) string {
		return want([]any{string(r.ID), r.TMax, r.AT, r.Test}, []any{"123", 120, 2, true})
	})
	f(`{"id":"a",`+imp+`,"tmax":933.33}`, func(r *Request) string { return want(r.TMax, 933) })
	f(`{"id":"a","imp":[{"id":7,"bidfloor":"0.5","banner":{"w":"300","h":" 250 "}}]}`, func(r *Request) string {
		im := &r.Imps[0]
		return want([]any{string(im.ID), im.BidFloor, im.Banner.W, im.Banner.H}, []any{"7", 0.5, 300, 250})
	})
	// null is absent; unknown fields of any shape are skipped.
	f(`{"id":"a",`+imp+`,"tmax":null,"site":null,"x":{"y":[1,{"z":null}],"w":"\u00e9"},"cur":null}`, func(r *Request) string {
		return want([]any{r.TMax, r.Site.Present, len(r.Cur)}, []any{0, false, 0})
	})
	// 2.6 fields win over the 2.5 ext locations in either order.
	for _, regs := range []string{
		`{"gdpr":1,"us_privacy":"new","ext":{"gdpr":0,"us_privacy":"old"}}`,
		`{"ext":{"gdpr":0,"us_privacy":"old"},"gdpr":1,"us_privacy":"new"}`,
	} {
		f(`{"id":"a",`+imp+`,"regs":`+regs+`}`, func(r *Request) string {
			return want([]any{r.Regs.GDPR, string(r.Regs.USPrivacy)}, []any{1, "new"})
		})
	}
	// An empty 2.6 field is no value: the 2.5 one stands (the protocol
	// audit: "us_privacy":"" hid an opt-out in regs.ext).
	for _, regs := range []string{
		`{"gdpr":null,"us_privacy":"","gpp":"","ext":{"gdpr":1,"us_privacy":"1YYN","gpp":"g"}}`,
		`{"ext":{"gdpr":1,"us_privacy":"1YYN","gpp":"g"},"gdpr":null,"us_privacy":"","gpp":""}`,
	} {
		f(`{"id":"a",`+imp+`,"regs":`+regs+`,"user":{"consent":"","ext":{"consent":"c"}}}`, func(r *Request) string {
			return want([]any{r.Regs.GDPR, string(r.Regs.USPrivacy), string(r.Regs.GPP), string(r.User.Consent)}, []any{1, "1YYN", "g", "c"})
		})
		f(`{"id":"a",`+imp+`,"user":{"ext":{"consent":"c"},"consent":""}}`, func(r *Request) string {
			return want(string(r.User.Consent), "c")
		})
	}
	f(`{"id":"a",`+imp+`,"regs":{"ext":{"gpp":"old","gpp_sid":[1]},"gpp":"new","gpp_sid":[7,8]}}`, func(r *Request) string {
		return want([]any{string(r.Regs.GPP), r.Regs.GPPSID}, []any{"new", []int{7, 8}})
	})
	f(`{"id":"a",`+imp+`,"regs":{"gpp":"new","gpp_sid":[7,8],"ext":{"gpp":"old","gpp_sid":[1]}}}`, func(r *Request) string {
		return want([]any{string(r.Regs.GPP), r.Regs.GPPSID}, []any{"new", []int{7, 8}})
	})
	for _, user := range []string{
		`{"consent":"new","eids":[{"source":"s","uids":[{"id":"u1"},{"id":"u2"}]}],"ext":{"consent":"old","eids":[{"source":"x"},{"source":"y"}]}}`,
		`{"ext":{"consent":"old","eids":[{"source":"x"},{"source":"y"}]},"consent":"new","eids":[{"source":"s","uids":[{"id":"u1"}]}]}`,
	} {
		f(`{"id":"a",`+imp+`,"user":`+user+`}`, func(r *Request) string {
			e := r.User.EIDs
			return want([]any{string(r.User.Consent), len(e), string(e[0].Source), string(e[0].UID)}, []any{"new", 1, "s", "u1"})
		})
	}
	for _, src := range []string{
		`{"schain":{"complete":1,"nodes":[{},{}]},"ext":{"schain":{"complete":0,"nodes":[{}]}}}`,
		`{"ext":{"schain":{"complete":0,"nodes":[{}]}},"schain":{"complete":1,"nodes":[{},{}]}}`,
	} {
		f(`{"id":"a",`+imp+`,"source":`+src+`}`, func(r *Request) string {
			s := &r.Source
			return want([]any{s.SChainPresent, s.SChainComplete, s.SChainNodes}, []any{true, 1, 2})
		})
	}
	// source.ext.tidt, a number or a string like every integer.
	for _, src := range []string{`{"tid":"t-1","ext":{"tidt":2}}`, `{"ext":{"schain":{"nodes":[]},"tidt":"2"},"tid":"t-1"}`} {
		f(`{"id":"a",`+imp+`,"source":`+src+`}`, func(r *Request) string {
			return want([]any{string(r.Source.TID), r.Source.TIDType}, []any{"t-1", 2})
		})
	}
	// device.geo wins over user.geo in either order; user.geo is the fallback.
	f(`{"id":"a",`+imp+`,"user":{"geo":{"country":"FRA"}},"device":{"geo":{"country":"USA","metro":"501"}}}`,
		func(r *Request) string {
			return want(string(r.Device.Geo.Country)+string(r.Device.Geo.Metro), "USA501")
		})
	f(`{"id":"a",`+imp+`,"device":{"geo":{"country":"USA"}},"user":{"geo":{"country":"FRA","zip":"1"}}}`,
		func(r *Request) string { return want(string(r.Device.Geo.Country)+string(r.Device.Geo.Zip), "USA") })
	f(`{"id":"a",`+imp+`,"device":{"ua":"x"},"user":{"geo":{"country":"FRA","zip":12345}}}`,
		func(r *Request) string {
			return want(string(r.Device.Geo.Country)+string(r.Device.Geo.Zip), "FRA12345")
		})
	// A device.geo that names no place (coordinates only) leaves
	// user.geo's, and a missing utcoffset is taken from user.geo (the
	// protocol audit: device.geo {lat, lon} hid user.geo's country).
	for _, body := range []string{
		`"device":{"geo":{"lat":40.7,"lon":-74,"utcoffset":-300}},"user":{"geo":{"country":"USA","region":"NY","utcoffset":60}}`,
		`"user":{"geo":{"country":"USA","region":"NY","utcoffset":60}},"device":{"geo":{"lat":40.7,"lon":-74,"utcoffset":-300}}`,
	} {
		f(`{"id":"a",`+imp+`,`+body+`}`, func(r *Request) string {
			g := &r.Device.Geo
			return want([]any{string(g.Country), string(g.Region), g.UTCOffset, g.HasUTCOffset}, []any{"USA", "NY", -300, true})
		})
	}
	f(`{"id":"a",`+imp+`,"device":{"geo":{"country":"USA"}},"user":{"geo":{"utcoffset":-300}}}`, func(r *Request) string {
		g := &r.Device.Geo
		return want([]any{string(g.Country), g.UTCOffset, g.HasUTCOffset}, []any{"USA", -300, true})
	})
	// Escapes, including a surrogate pair and a lone surrogate.
	f(`{"id":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x",`+imp+`}`, func(r *Request) string {
		return want(string(r.ID), "a\"b\\c/d\b\f\n\r\t\u00e9\U0001F600\uFFFDx")
	})
	// Legacy video.protocol, pod fields and media bits.
	f(`{"id":"a","imp":[{"id":"1","video":{"mimes":"video/mp4","protocol":3,"podid":12,"rqddurs":[15,"30"],"mincpmpersec":"0.01"},"audio":{"mimes":[]},"native":{"request":"{}"}}]}`,
		func(r *Request) string {
			im := &r.Imps[0]
			v := &im.Video
			return want([]any{len(v.Mimes), v.Protocols, string(v.PodID), v.RqdDurs, v.MinCPMPerSec, im.Media},
				[]any{1, []int{3}, "12", []int{15, 30}, 0.01, MediaVideo | MediaAudio | MediaNative})
		})
	f(`{"id":"a","imp":[{"id":"1","banner":{"w":300,"h":250,"battr":[1],"btype":[3,"4"]}}]}`, func(r *Request) string {
		b := &r.Imps[0].Banner
		return want([]any{b.BAttr, b.BType}, []any{[]int{1}, []int{3, 4}})
	})
	// audio keeps its own mimes, protocols and battr beside video's.
	f(`{"id":"a","imp":[{"id":"1","video":{"mimes":["video/mp4"],"battr":[1]},"audio":{"mimes":["audio/mp4","audio/aac"],"minduration":5,"maxduration":"30","protocols":[2],"battr":[13,"14"],"minbitrate":64,"maxbitrate":"320"}}]}`,
		func(r *Request) string {
			a := &r.Imps[0].Audio
			return want([]any{len(a.Mimes), string(a.Mimes[1]), a.MinDur, a.MaxDur, a.Protocols, a.BAttr, r.Imps[0].Video.BAttr, a.MinBitrate, a.MaxBitrate},
				[]any{2, "audio/aac", 5, 30, []int{2}, []int{13, 14}, []int{1}, 64, 320})
		})
	// DSA signals: regs.ext.dsa (the extension's place) or regs.dsa;
	// pubrender absent is -1, as it is after a Reset.
	f(`{"id":"a",`+imp+`,"regs":{"ext":{"dsa":{"dsarequired":3,"pubrender":0,"datatopub":2,"transparency":[{"domain":"x","dsaparams":[1]}]}}}}`,
		func(r *Request) string {
			return want([]any{r.Regs.DSARequired, r.Regs.DSAPubRender}, []any{3, 0})
		})
	f(`{"id":"a",`+imp+`,"regs":{"dsa":{"dsarequired":"2"}}}`, func(r *Request) string {
		return want([]any{r.Regs.DSARequired, r.Regs.DSAPubRender}, []any{2, -1})
	})
	// acat (2.6-202309), an allow list beside bcat, and wlangb (2.6).
	f(`{"id":"a",`+imp+`,"acat":["IAB1","IAB2-3"],"bcat":["IAB9"],"wlangb":["en-US"]}`, func(r *Request) string {
		return want([]any{len(r.ACat), string(r.ACat[1]), len(r.BCat), string(r.WLangB[0])}, []any{2, "IAB2-3", 1, "en-US"})
	})
	// cattax (2.6) names the taxonomy of bcat and acat; absent is 0.
	f(`{"id":"a",`+imp+`,"bcat":["483"],"cattax":"6"}`, func(r *Request) string {
		return want([]any{r.CatTax, string(r.BCat[0])}, []any{6, "483"})
	})
	f(`{"id":"a",`+imp+`,"bcat":["IAB9"]}`, func(r *Request) string {
		return want([]any{r.CatTax}, []any{0})
	})
	// audio pods (2.6): the pod fields video has.
	f(`{"id":"a","imp":[{"id":"1","audio":{"mimes":["audio/mp4"],"podid":"p1","podseq":1,"slotinpod":-1,"poddur":"60","maxseq":3,"rqddurs":[15,30],"mincpmpersec":0.02,"poddedupe":[1,"2"]}}]}`,
		func(r *Request) string {
			a := &r.Imps[0].Audio
			return want([]any{string(a.PodID), a.PodSeq, a.SlotInPod, a.PodDur, a.MaxSeq, a.RqdDurs, a.MinCPMPerSec, a.PodDedupe, string(r.Imps[0].Video.PodID)},
				[]any{"p1", 1, -1, 60, 3, []int{15, 30}, 0.02, []int{1, 2}, ""})
		})
	// durfloors (2.6-202309) in video, audio and deals; an entry that is
	// not an object is an error, an empty one is kept.
	f(`{"id":"a","imp":[{"id":"1","video":{"mimes":["m"],"durfloors":[{"maxdur":15,"bidfloor":5},{"mindur":"16","maxdur":30,"bidfloor":"10.5","ext":{}},{}]},"audio":{"mimes":["m"],"durfloors":[{"mindur":31,"bidfloor":20}]},"pmp":{"deals":[{"id":"d","mincpmpersec":"0.5","durfloors":[{"mindur":1,"bidfloor":2}]}]}}]}`,
		func(r *Request) string {
			im := &r.Imps[0]
			d := &im.PMP.Deals[0]
			return want([]any{im.Video.DurFloors, im.Audio.DurFloors, d.MinCPMPerSec, d.DurFloors},
				[]any{[]DurFloor{{0, 15, 5}, {16, 30, 10.5}, {}}, []DurFloor{{31, 0, 20}}, 0.5, []DurFloor{{1, 0, 2}}})
		})
	f(`{"id":"a","imp":[{"id":"1","banner":{"format":[{"w":300,"h":250},{"w":1,"h":0},{"wratio":16,"hratio":9}]},"pmp":{"private_auction":1,"deals":[{"id":"d1","bidfloor":2.5,"at":1,"wseat":["s"],"wadomain":["a.com"]}]}}],"site":{"publisher":{"id":"p"}},"app":{"publisher":{"id":9}}}`,
		func(r *Request) string {
			im := &r.Imps[0]
			d := &im.PMP.Deals[0]
			return want([]any{im.Banner.Formats, im.PMP.PrivateAuction, string(d.ID), d.BidFloor, d.AT, len(d.WSeat), string(d.WADomain[0]), string(r.Site.PublisherID), string(r.App.PublisherID)},
				[]any{[]Format{{300, 250}, {0, 0}}, 1, "d1", 2.5, 1, 1, "a.com", "p", "9"})
		})
	// guar (2.6): a guaranteed deal, as a number or a string.
	f(`{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"g","guar":1},{"id":"n"},{"id":"s","guar":"1"}]}}]}`,
		func(r *Request) string {
			d := r.Imps[0].PMP.Deals
			return want([]any{d[0].Guar, d[1].Guar, d[2].Guar}, []any{1, 0, 1})
		})
}

// TestParseLongLists: a block list of thousands is read whole (it cannot
// be cut short), and data segments and eids past their bounds are left
// out, not an error.
func TestParseLongLists(t *testing.T) {
	t.Parallel()
	const imp = `"imp":[{"id":"1","banner":{"w":300,"h":250}}]`
	list := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f(i))
		}
		return b.String()
	}
	domain := func(i int) string { return fmt.Sprintf(`"adv%d.example"`, i) }
	r := mustParse(t, `{"id":"a",`+imp+`,"badv":[`+list(maxTexts, domain)+`],"bapp":[`+list(300, domain)+`]}`)
	if len(r.BAdv) != maxTexts || string(r.BAdv[maxTexts-1]) != fmt.Sprintf("adv%d.example", maxTexts-1) || len(r.BApp) != 300 {
		t.Fatalf("read %d of %d badv (last %q) and %d of 300 bapp", len(r.BAdv), maxTexts, r.BAdv[len(r.BAdv)-1], len(r.BApp))
	}
	var long Request
	if err := long.Parse([]byte(`{"id":"a",` + imp + `,"badv":[` + list(maxTexts+1, domain) + `]}`)); err == nil || !strings.Contains(err.Error(), "too many badv") {
		t.Fatalf("badv of %d: %v; want too many badv", maxTexts+1, err)
	}

	segs := func(from int) string {
		return `{"id":"dp","segment":[` + list(maxSegments/2+100, func(i int) string { return fmt.Sprintf(`{"id":"s%d"}`, from+i) }) + `]}`
	}
	eids := list(maxEIDs+10, func(i int) string { return fmt.Sprintf(`{"source":"s%d.example","uids":[{"id":"u%d"}]}`, i, i) })
	r = mustParse(t, `{"id":"a",`+imp+`,"user":{"id":"u","data":[`+segs(0)+`,`+segs(maxSegments)+`],"eids":[`+eids+`]},"tmax":99}`)
	u := &r.User
	if len(u.Segments) != maxSegments || string(u.Segments[0]) != "s0" || string(u.Segments[maxSegments-1]) != fmt.Sprintf("s%d", maxSegments+maxSegments/2-101) {
		t.Fatalf("%d segments (first %q, last %q); want the first %d", len(u.Segments), u.Segments[0], u.Segments[len(u.Segments)-1], maxSegments)
	}
	if len(u.EIDs) != maxEIDs || string(u.EIDs[maxEIDs-1].Source) != fmt.Sprintf("s%d.example", maxEIDs-1) || r.TMax != 99 {
		t.Fatalf("%d eids (last %q), tmax %d; want the first %d and what follows them read", len(u.EIDs), u.EIDs[len(u.EIDs)-1].Source, r.TMax, maxEIDs)
	}
}

// TestParseBrokenUTF8: a broken character in a string the view does not
// keep (an exchange cut a user agent at a byte count) does not refuse the
// request; one in a string it keeps does.
func TestParseBrokenUTF8(t *testing.T) {
	t.Parallel()
	imp := `{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}],`
	for _, b := range []string{
		imp + "\"x\":\"\xc3\x28\"}",
		imp + "\"device\":{\"ua\":\"Mozilla/5.0 (caf\xc3\"}}",
		imp + "\"ext\":{\"k\":\"\xff\",\"\xfe\":[1,\"\xe2\x82\"]}}",
	} {
		var r Request
		if err := r.Parse([]byte(b)); err != nil {
			t.Errorf("%q: %v; want it read", b, err)
		}
	}
	var r Request
	if err := r.Parse([]byte(imp + "\"site\":{\"domain\":\"\xff.com\"}}")); err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		t.Errorf("a broken character in site.domain: %v; want invalid UTF-8", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	f := func(body string, want error) {
		t.Helper()
		var r Request
		err := r.Parse([]byte(body))
		if err == nil {
			t.Fatalf("expected an error for %.80q", body)
		}
		if want != nil && !errors.Is(err, want) {
			t.Fatalf("unexpected error for %.80q; got %v; want %v", body, err, want)
		}
		var pe *ParseError
		if want == nil && !errors.As(err, &pe) {
			t.Fatalf("expected a *ParseError for %.80q; got %T %v", body, err, err)
		}
		if len(err.Error()) > 120 {
			t.Fatalf("error message too long for a 400 body: %q", err)
		}
	}
	const imp = `"imp":[{"id":"1","banner":{"w":1,"h":1}}]`
	f(``, nil)
	f(`null`, nil)
	f(`"malformed"`, nil)
	f(`[]`, nil)
	f(`{}`, ErrMissingID)
	f(`{"id":""}`, ErrMissingID)
	f(`{"id":"a"}`, ErrNoImp)
	f(`{"id":"a","imp":[]}`, ErrNoImp)
	f(`{"id":"a","imp":[{"banner":{}}]}`, ErrImpID)
	f(`{"id":"a","imp":"x"}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":{}}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":"abc"}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":99999999999999999999}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":1e400}`, nil)
	f(`{"id":"a","imp":[{"id":"1","bidfloor":1e400}]}`, nil)
	f(`{"id":"a","imp":[{"id":"1","bidfloor":"NaN"}]}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":01}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":-}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":1.}`, nil)
	f(`{"id":"a",`+imp+`,"tmax":1e}`, nil)
	f(`{"id":"a",`+imp+`,"cur":"US`, nil)
	f(`{"id":"a",`+imp+`,"cur":["US\x01D"]}`, nil)
	f(`{"id":"a",`+imp+`,"cur":["\xff"]}`, nil)
	f(`{"id":"a",`+imp+`,"x":"\xc3\x28"}`, nil)
	f(`{"id":"a",`+imp+`,"x":"\q"}`, nil)
	f(`{"id":"a",`+imp+`,"x":"\u12G4"}`, nil)
	f(`{"id":"a",`+imp+`,"x":tru}`, nil)
	f(`{"id":"a",`+imp+`,"x":[1,]}`, nil)
	f(`{"id":"a",`+imp+`,"x":{"a":1,}}`, nil)
	f(`{"id":"a",`+imp+`,}`, nil)
	f(`{"id":"a",`+imp+`} x`, nil)
	f(`{"id":"a",`+imp+`}`+"\x00", nil)
	f(`{"id":"a",`+imp+`,"x":`+"\x00}", nil)
	f(`{"id":"a",`+imp+`,"user":{"consent":2}}`, nil)
	f(`{"id":"a",`+imp+`,"device":{"w":-1}}`, nil)
	f(`{"id":"a","imp":[{"id":"1","metric":[{}]}]}`, nil)
	f(`{"id":"a",`+imp+`,"x":`+strings.Repeat("[", 100000), nil)
	f(`{"id":"a",`+imp+`,"x":`+strings.Repeat(`{"a":`, MaxDepth)+`1`+strings.Repeat(`}`, MaxDepth)+`}`, nil)
	f(`{"id":"a","imp":[`+strings.Repeat(`{"id":"1","banner":{"w":1,"h":1}},`, maxImps)+`{"id":"2"}]}`, nil)
	f(`{"id":"a",`+imp+`,"bcat":[`+strings.Repeat(`"x",`, maxTexts)+`"y"]}`, nil)
	f(`{"id":"a","imp":[{"id":"1","banner":{"format":[`+strings.Repeat(`{"w":1,"h":1},`, maxFormats)+`{}]}}]}`, nil)
	f(`{"id":"a","imp":[{"id":"1","video":{"mimes":["m"],"durfloors":{}}}]}`, nil)
	f(`{"id":"a","imp":[{"id":"1","video":{"mimes":["m"],"durfloors":[1]}}]}`, nil)
	f(`{"id":"a","imp":[{"id":"1","audio":{"mimes":["m"],"durfloors":[`+strings.Repeat(`{"bidfloor":1},`, maxDurFloors)+`{}]}}]}`, nil)
	f(`{"id":"a","imp":[{"id":"1","banner":{},"pmp":{"deals":[{"id":"d","durfloors":[{"bidfloor":"x"}]}]}}]}`, nil)
}

func TestParseDepthLimit(t *testing.T) {
	t.Parallel()
	nest := func(n int) string {
		return `{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}],"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	var r Request
	// The top-level object is level 1.
	if err := r.Parse([]byte(nest(MaxDepth - 1))); err != nil {
		t.Fatalf("cannot parse nesting of depth %d: %s", MaxDepth, err)
	}
	if err := r.Parse([]byte(nest(MaxDepth))); err == nil {
		t.Fatalf("expected an error for nesting deeper than %d", MaxDepth)
	}
}

// leniencies lists the Prebid Server rejects that rtbd accepts on purpose;
// see [Request.Validate].
var leniencies = map[string]bool{
	"pbs__no-site-or-app-or-dooh.json": true,
	"pbs__banner-no-size.json":         true,
	"pbs__format-empty-array.json":     true, // a banner with no usable size
	"pbs__format-no-height.json":       true,
}

func TestParseInvalidCorpus(t *testing.T) {
	t.Parallel()
	var r Request
	for _, f := range corpus.Invalid() {
		err := r.Parse(f.Body)
		if err == nil {
			err = r.Validate()
		}
		if (err == nil) != leniencies[f.Name] {
			t.Errorf("%s: Parse or Validate returned %v; lenient: %v", f.Name, err, leniencies[f.Name])
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	f := func(body string, wantErr bool) {
		t.Helper()
		r := mustParse(t, body)
		if err := r.Validate(); (err != nil) != wantErr {
			t.Fatalf("unexpected Validate result for %s: %v", body, err)
		}
	}
	const site = `"site":{"id":"s"}`
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"w":1,"h":1}}]}`, false)
	f(`{"id":"a","app":{},"imp":[{"id":"1","video":{"mimes":["video/mp4"]}}]}`, false)
	f(`{"id":"a","dooh":{},"imp":[{"id":"1","audio":{"mimes":["audio/mp4"]}}]}`, false)
	f(`{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}]}`, false)
	f(`{"id":"a","imp":[{"id":"1","banner":{}}]}`, false)
	f(`{"id":"a",`+site+`,"app":{},"imp":[{"id":"1","banner":{"w":1,"h":1}}]}`, true)
	f(`{"id":"a",`+site+`,"tmax":-1,"imp":[{"id":"1","banner":{"w":1,"h":1}}]}`, true)
	f(`{"id":"a",`+site+`,"regs":{"gdpr":2},"imp":[{"id":"1","banner":{"w":1,"h":1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"w":1,"h":1}},{"id":"1","banner":{"w":1,"h":1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1"}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","native":{}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","bidfloor":-1,"banner":{"w":1,"h":1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"w":-1,"h":1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"format":[]}}]}`, false)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":[]}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":["m"],"w":-1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":["m"],"minduration":30,"maxduration":15}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":["m"],"poddur":-30}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"maxseq":-1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"poddur":60,"maxseq":2}}]}`, false)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"minduration":-1,"maxduration":30}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"minduration":5,"maxduration":-1}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"minduration":31,"maxduration":30}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"minduration":30,"maxduration":30}}]}`, false)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":["m"],"durfloors":[{"mindur":15,"maxdur":15,"bidfloor":5}]}}]}`, false)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":["m"],"durfloors":[{"maxdur":15,"bidfloor":5},{"mindur":16,"bidfloor":9}]}}]}`, false)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","video":{"mimes":["m"],"durfloors":[{"maxdur":15,"bidfloor":-5}]}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","audio":{"mimes":["m"],"durfloors":[{"mindur":30,"maxdur":15,"bidfloor":5}]}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d","durfloors":[{"mindur":-1,"bidfloor":5}]}]}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":"d","mincpmpersec":-1}]}}]}`, true)
	f(`{"id":"a",`+site+`,"imp":[{"id":"1","banner":{"w":1,"h":1},"pmp":{"deals":[{"id":""}]}}]}`, true)
}

// TestParseReuse checks that a reused Request holds exactly what a fresh
// one does: nothing of the previous request survives Reset.
// dumpRequest prints every field of r but its scratch buffer, whose
// capacity and contents depend on earlier parses.
func dumpRequest(r *Request) string {
	c := *r
	c.scratch = nil
	return fmt.Sprintf("%+v", c)
}

func TestParseReuse(t *testing.T) {
	t.Parallel()
	files := corpus.Requests()
	var reused Request
	for i := range files {
		prev, cur := files[(i+len(files)/2)%len(files)], files[i]
		if err := reused.Parse(prev.Body); err != nil {
			t.Fatalf("cannot parse %s: %s", prev.Name, err)
		}
		if i%2 == 1 {
			reused.Reset() // as the server does; Parse then skips its own
		}
		if err := reused.Parse(cur.Body); err != nil {
			t.Fatalf("cannot parse %s: %s", cur.Name, err)
		}
		var fresh Request
		if err := fresh.Parse(cur.Body); err != nil {
			t.Fatalf("cannot parse %s: %s", cur.Name, err)
		}
		if got, want := dumpRequest(&reused), dumpRequest(&fresh); got != want {
			t.Fatalf("%s parsed after %s differs from a fresh parse:\n%s\n%s", cur.Name, prev.Name, got, want)
		}
	}
}

// TestParseRepeatedImpKey: of two "imp" keys the last wins, and the
// imps of the first leave nothing in it: each corpus request, given first
// the imps of another, parses as it does alone.
func TestParseRepeatedImpKey(t *testing.T) {
	t.Parallel()
	files := corpus.Requests()
	for i, cur := range files {
		other := files[(i+1)%len(files)]
		var o map[string]json.RawMessage
		if err := json.Unmarshal(other.Body, &o); err != nil || len(o["imp"]) == 0 {
			continue // no imps to put first
		}
		body := slices.Concat([]byte(`{"imp":`), o["imp"], []byte(","), bytes.TrimLeft(cur.Body, " \t\r\n{"))
		var twice, alone Request
		errTwice, errAlone := twice.Parse(body), alone.Parse(cur.Body)
		if (errTwice == nil) != (errAlone == nil) {
			t.Fatalf("%s after the imps of %s: error %v; alone %v", cur.Name, other.Name, errTwice, errAlone)
		}
		if errAlone != nil {
			continue
		}
		if got, want := dumpRequest(&twice), dumpRequest(&alone); got != want {
			t.Fatalf("%s after the imps of %s differs from a parse alone:\n%s\n%s", cur.Name, other.Name, got, want)
		}
	}
}

func TestAcquireRelease(t *testing.T) {
	r := AcquireRequest()
	if err := r.Parse(corpusFile(t, "iab__2.6-video.json")); err != nil {
		t.Fatalf("cannot parse: %s", err)
	}
	ReleaseRequest(r)
	r = AcquireRequest()
	if len(r.ID) != 0 || len(r.Imps) != 0 || r.Regs.GDPR != -1 {
		t.Fatalf("acquired request is not reset: %+v", r)
	}
	ReleaseRequest(r)
}

func TestCountryAlpha2IsNormalised(t *testing.T) {
	t.Parallel()
	f := func(country, want string) {
		t.Helper()
		r := mustParse(t, `{"id":"a","device":{"geo":{"country":"`+country+`"}},"imp":[{"id":"1","banner":{"w":1,"h":1}}]}`)
		if got := string(r.Device.Geo.Country); got != want {
			t.Fatalf("geo.country %q parsed as %q; want %q", country, got, want)
		}
	}
	f("US", "USA")
	f("us", "USA")
	f("GB", "GBR")
	f("JP", "JPN")
	f("USA", "USA")
	f("ZZ", "ZZ")
	f("", "")
	f("U", "U")
}

// TestParseUTCOffset: geo.utcoffset is minutes from UTC; a value no time
// zone has (seconds sent for minutes) is unknown.
func TestParseUTCOffset(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		off  int
		has  bool
	}{
		{"rtb4free__appnexus.json", -420, true},
		{"rtb4free__openxpvt.json", 360, true},
		{"google__full-all-fields-2016.json", 0, false}, // 3600
		{"iab__2.6-video.json", 0, false},               // none
	} {
		g := mustParse(t, string(corpusFile(t, tc.file))).Device.Geo
		if g.UTCOffset != tc.off || g.HasUTCOffset != tc.has {
			t.Errorf("%s: utcoffset %d (known %v); want %d (%v)", tc.file, g.UTCOffset, g.HasUTCOffset, tc.off, tc.has)
		}
	}
	for body, want := range map[string]int{`-720`: -720, `840`: 840, `"60"`: 60} {
		g := mustParse(t, `{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}],"device":{"geo":{"utcoffset":`+body+`}}}`).Device.Geo
		if !g.HasUTCOffset || g.UTCOffset != want {
			t.Errorf("utcoffset %s: %d (known %v); want %d", body, g.UTCOffset, g.HasUTCOffset, want)
		}
	}
	for _, body := range []string{`-721`, `841`} {
		if g := mustParse(t, `{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}],"device":{"geo":{"utcoffset":`+body+`}}}`).Device.Geo; g.HasUTCOffset {
			t.Errorf("utcoffset %s: known", body)
		}
	}
}

// TestVideoAudioPod checks that imp.video, whose switch lists the pod
// keys itself, reads a pod as imp.audio does through podField.
func TestVideoAudioPod(t *testing.T) {
	t.Parallel()
	const pod = `"podid":"p1","podseq":1,"slotinpod":-1,"poddur":"60","maxseq":3,"rqddurs":[15,30],"mincpmpersec":0.02,"poddedupe":[1,"2"],"durfloors":[{"mindur":1,"maxdur":30,"bidfloor":2}]`
	var r Request
	if err := r.Parse([]byte(`{"id":"a","imp":[{"id":"1","video":{"mimes":["m"],` + pod + `},"audio":{"mimes":["m"],` + pod + `}}]}`)); err != nil {
		t.Fatal(err)
	}
	v, a := r.Imps[0].Video.Pod, r.Imps[0].Audio.Pod
	if !reflect.DeepEqual(v, a) {
		t.Fatalf("video pod %+v differs from audio pod %+v", v, a)
	}
	if !reflect.DeepEqual(v, Pod{PodID: []byte("p1"), PodSeq: 1, SlotInPod: -1, PodDur: 60, MaxSeq: 3, RqdDurs: []int{15, 30},
		MinCPMPerSec: 0.02, PodDedupe: []int{1, 2}, DurFloors: []DurFloor{{MinDur: 1, MaxDur: 30, BidFloor: 2}}}) {
		t.Fatalf("unexpected pod %+v", v)
	}
}

// TestParseObjectErrors pins what object reports for a value that is not
// the object a field expects, or null (absent), through its inline '{'
// test and open.
func TestParseObjectErrors(t *testing.T) {
	t.Parallel()
	const e = "cannot parse bid request: "
	f := func(v, want string, site bool) {
		t.Helper()
		var r Request
		err := r.Parse([]byte(`{"id":"a","imp":[{"id":"1","banner":{"w":1,"h":1}}],` + v + `}`))
		if got := fmt.Sprint(err); got != want || r.Site.Present != site {
			t.Fatalf("unexpected result for %s; got %s, site %v; want %s, site %v", v, got, r.Site.Present, want, site)
		}
	}
	f(`"site":1`, e+"site is not an object at byte 59", false)
	f(`"site":null`, "<nil>", false)
	f(`"site": {"id":"s"}`, "<nil>", true)
	f(`"device":[1]`, e+"device is not an object at byte 61", false)
	f(`"device":nul`, e+"device is not an object at byte 61", false)
	f(`"user":"u"`, e+"user is not an object at byte 59", false)
	f(`"source":"s"`, "<nil>", false)
	f(`"regs":{"ext":"x"}`, "<nil>", false)
	f(`"app":{"publisher":true}`, e+"app.publisher is not an object at byte 71", false)
	f(`"app":`, e+"app is not an object at byte 58", false)
}

// TestResetDropsTexts: Reset truncates the lists of strings and clears
// the entries they held, so that a pooled Request keeps no reference to
// the body it was parsed from.
func TestResetDropsTexts(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"r","imp":[{"id":"1","video":{"mimes":["video/mp4","video/webm"]},` +
		`"audio":{"mimes":["audio/mp4"]}}],` +
		`"site":{"cat":["IAB1","IAB2"]},"user":{"data":[{"segment":[{"id":"s1"},{"id":"s2"}]}]},` +
		`"cur":["USD"],"bcat":["IAB25","IAB26","IAB7-39","IAB8","IAB9","IAB10"],"badv":["a.com"],"bapp":["b"],` +
		`"wlang":["en"],"wlangb":["en-US"],"wseat":["s"],"bseat":["t"],"acat":["IAB3"]}`)
	var r Request
	if err := r.Parse(body); err != nil {
		t.Fatal(err)
	}
	im := r.Imps[0]
	lists := map[string]*[][]byte{
		"video.mimes": &im.Video.Mimes, "audio.mimes": &im.Audio.Mimes,
		"site.cat": &r.Site.Cat, "segments": &r.User.Segments, "cur": &r.Cur, "bcat": &r.BCat, "badv": &r.BAdv,
		"bapp": &r.BApp, "wlang": &r.WLang, "wlangb": &r.WLangB, "wseat": &r.WSeat, "bseat": &r.BSeat, "acat": &r.ACat,
	}
	held := map[string][][]byte{}
	for name, l := range lists {
		if len(*l) == 0 {
			t.Fatalf("%s: not read from the body", name)
		}
		held[name] = *l
	}
	r.Reset()
	if len(r.Imps) != 0 {
		t.Fatalf("Reset left %d imps", len(r.Imps))
	}
	for name, l := range held {
		for i, s := range l[:cap(l)] {
			if s != nil {
				t.Fatalf("%s[%d] = %q after Reset; want nil", name, i, s)
			}
		}
	}
}

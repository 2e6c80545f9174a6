package openrtb

import "testing"

func TestPrivacy(t *testing.T) {
	t.Parallel()
	f := func(body string, want Privacy) {
		t.Helper()
		r := mustParse(t, body)
		if got := r.Privacy(); got != want {
			t.Fatalf("Privacy() of %s = %b; want %b", body, got, want)
		}
	}
	const imp = `"imp":[{"id":"1","banner":{"w":300,"h":250}}]`
	f(`{"id":"a",`+imp+`}`, 0)
	f(`{"id":"a","regs":{"coppa":1},`+imp+`}`, NoPersonalData)
	f(`{"id":"a","regs":{"gdpr":1},`+imp+`}`, NoPersonalData)
	f(`{"id":"a","regs":{"gdpr":1},"user":{"consent":"CPx"},`+imp+`}`, 0)
	f(`{"id":"a","regs":{"ext":{"gdpr":1}},"user":{"ext":{"consent":"CPx"}},`+imp+`}`, 0)
	f(`{"id":"a","regs":{"gdpr":0},`+imp+`}`, 0)
	f(`{"id":"a","regs":{"us_privacy":"1YYN"},`+imp+`}`, NoPersonalData)
	f(`{"id":"a","regs":{"ext":{"us_privacy":"1YYN"}},`+imp+`}`, NoPersonalData)
	f(`{"id":"a","regs":{"us_privacy":"1YNN"},`+imp+`}`, 0)
	f(`{"id":"a","regs":{"us_privacy":"1---"},`+imp+`}`, 0)
	f(`{"id":"a","device":{"lmt":1},`+imp+`}`, NoDeviceID)
	f(`{"id":"a","regs":{"coppa":1},"device":{"dnt":1},`+imp+`}`, NoPersonalData|NoDeviceID)
}

func TestScrub(t *testing.T) {
	t.Parallel()
	body := `{"id":"a","device":{"ifa":"dev-1"},"user":{"id":"u1","buyeruid":"b1",
		"data":[{"segment":[{"id":"s1"}]}],"eids":[{"source":"x.com","uids":[{"id":"e1"}]}]},
		"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`
	r := mustParse(t, body)
	r.Scrub(NoDeviceID)
	if r.Device.IFA != nil || string(r.User.ID) != "u1" || len(r.User.Segments) != 1 {
		t.Fatalf("NoDeviceID scrubbed too much or too little: %+v %+v", r.Device, r.User)
	}
	r = mustParse(t, body)
	r.Scrub(NoPersonalData)
	u := r.User
	if r.Device.IFA != nil || u.ID != nil || u.BuyerUID != nil || len(u.Segments) != 0 || len(u.EIDs) != 0 {
		t.Fatalf("NoPersonalData left personal data: %+v %+v", r.Device, u)
	}
	r = mustParse(t, body)
	r.Scrub(0)
	if string(r.Device.IFA) != "dev-1" || string(r.User.BuyerUID) != "b1" || len(r.User.EIDs) != 1 {
		t.Fatalf("Scrub(0) changed the request")
	}
}

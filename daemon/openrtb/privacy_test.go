package openrtb

import "testing"

func TestPrivacy(t *testing.T) {
	t.Parallel()
	f := func(body string, vendor int, want Privacy) {
		t.Helper()
		r := mustParse(t, body)
		if got := r.Privacy(vendor); got != want {
			t.Fatalf("Privacy(%d) of %s = %04b; want %04b", vendor, body, got, want)
		}
	}
	const imp = `"imp":[{"id":"1","banner":{"w":300,"h":250}}]`
	f(`{"id":"a",`+imp+`}`, 0, 0)
	f(`{"id":"a","regs":{"coppa":1},`+imp+`}`, 0, NoPersonalData)
	f(`{"id":"a","regs":{"gdpr":0},`+imp+`}`, 0, 0)
	f(`{"id":"a","regs":{"us_privacy":"1YYN"},`+imp+`}`, 0, NoPersonalData)
	f(`{"id":"a","regs":{"ext":{"us_privacy":"1YYN"}},`+imp+`}`, 0, NoPersonalData)
	f(`{"id":"a","regs":{"us_privacy":"1YNN"},`+imp+`}`, 0, 0)
	f(`{"id":"a","regs":{"us_privacy":"1---"},`+imp+`}`, 0, 0)
	f(`{"id":"a","device":{"lmt":1},`+imp+`}`, 0, NoDeviceID)
	f(`{"id":"a","regs":{"coppa":1},"device":{"dnt":1},`+imp+`}`, 0, NoPersonalData|NoDeviceID)

	// GDPR: the TCF string decides.
	gdpr := func(consent string) string {
		return `{"id":"a","regs":{"gdpr":1},"user":{"consent":"` + consent + `"},` + imp + `}`
	}
	all := purposeSet(1, 2, 3, 4, 7)
	const us = 755
	f(`{"id":"a","regs":{"gdpr":1},`+imp+`}`, 0, NoPersonalData|NoTCF)
	// gdpr absent is unknown: a consent string beside it decides; gdpr 0
	// says it does not apply.
	refused := tcfString(tcfFields{})
	f(`{"id":"a","user":{"consent":"`+refused+`"},`+imp+`}`, us, NoBid|NoPersonalData)
	f(`{"id":"a","regs":{"gdpr":null},"user":{"consent":"`+refused+`"},`+imp+`}`, us, NoBid|NoPersonalData)
	f(`{"id":"a","user":{"consent":"`+tcfString(tcfFields{purposes: all, vendors: []int{us}})+`"},`+imp+`}`, us, 0)
	f(`{"id":"a","regs":{"gdpr":0},"user":{"consent":"`+refused+`"},`+imp+`}`, us, 0)
	// ... but only a TCF string: anything else there says nothing.
	f(`{"id":"a","user":{"consent":"1"},`+imp+`}`, us, 0)
	f(`{"id":"a","user":{"consent":"1YNN"},`+imp+`}`, us, 0)
	f(gdpr("CPx"), 0, BadConsent|NoPersonalData|NoTCF)
	f(gdpr("gdpr-consent-string"), 0, BadConsent|NoPersonalData|NoTCF)
	f(gdpr(tcfString(tcfFields{purposes: all})), 0, 0)
	f(`{"id":"a","regs":{"ext":{"gdpr":1}},"user":{"ext":{"consent":"`+tcfString(tcfFields{purposes: all})+`"}},`+imp+`}`, 0, 0)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us}})), us, 0)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us}, rangeVendors: true})), us, 0)
	f(gdpr(tcfString(tcfFields{purposes: purposeSet(2, 3, 4), vendors: []int{us}})), us, 0)
	// Purpose 3 or 4 refused: contextual only.
	f(gdpr(tcfString(tcfFields{purposes: purposeSet(1, 2, 4), vendors: []int{us}})), us, NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposes: purposeSet(1, 2, 3), vendors: []int{us}})), us, NoPersonalData)
	// Purpose 2 by legitimate interest: contextual only.
	f(gdpr(tcfString(tcfFields{purposesLI: purposeSet(2)})), 0, NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposesLI: purposeSet(2), vendorsLI: []int{us}})), us, NoPersonalData)
	// The vendor: without its consent, all purposes mean contextual via
	// legitimate interest at best, and nothing without that either.
	f(gdpr(tcfString(tcfFields{purposes: all, purposesLI: purposeSet(2), vendors: []int{us + 1}, vendorsLI: []int{us}})), us, NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us + 1}})), us, NoBid|NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us + 1}})), 0, 0)
	// Publisher restrictions on the vendor: purpose 2 not allowed, or by
	// consent only without consent; purpose 4 by legitimate interest only.
	restrict := func(purpose, kind int, vendors ...int) []tcfRestriction {
		return []tcfRestriction{{purpose: purpose, kind: kind, vendors: vendors}}
	}
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us}, restrictions: restrict(2, 0, us)})), us, NoBid|NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us}, restrictions: restrict(2, 0, us+1)})), us, 0)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us}, restrictions: restrict(2, 0, us)})), 0, 0) // no vendor: not read
	f(gdpr(tcfString(tcfFields{purposesLI: purposeSet(2), vendorsLI: []int{us}, restrictions: restrict(2, 1, us)})), us, NoBid|NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposesLI: purposeSet(2), vendorsLI: []int{us}, restrictions: restrict(2, 2, us)})), us, NoPersonalData)
	f(gdpr(tcfString(tcfFields{purposes: all, vendors: []int{us}, restrictions: restrict(4, 2, us)})), us, NoPersonalData)
	// Purpose 2 refused: no bid.
	f(gdpr(tcfString(tcfFields{purposes: purposeSet(1, 3, 4), vendors: []int{us}})), us, NoBid|NoPersonalData)
	f(gdpr("CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"), 0, NoBid|NoPersonalData)

	// GPP: the applicable sections decide.
	gpp := func(s string, sids string) string {
		return `{"id":"a","regs":{"gpp":"` + s + `","gpp_sid":[` + sids + `]},` + imp + `}`
	}
	tcfAll := tcfString(tcfFields{purposes: all})
	tcfNone := tcfString(tcfFields{})
	usnatOK := usnatString(1, 2, 2, 2, []int{0, 0})
	usnatOut := usnatString(1, 1, 2, 2, []int{0, 0})
	f(gpp(gppHeader([]int{2}, false)+"~"+tcfAll, "2"), 0, 0)
	f(gpp(gppHeader([]int{2}, false)+"~"+tcfNone, "2"), 0, NoBid|NoPersonalData)
	f(gpp(gppHeader([]int{2, 6}, false)+"~"+tcfNone+"~1YNN", "6"), 0, 0)
	f(gpp(gppHeader([]int{2, 6}, false)+"~"+tcfAll+"~1YYN", "6"), 0, NoPersonalData)
	f(gpp(gppHeader([]int{2, 6}, false)+"~"+tcfAll+"~1YYN", ""), 0, NoPersonalData)
	f(gpp(gppHeader([]int{2, 6}, false)+"~"+tcfAll+"~1YNN", ""), 0, 0)
	f(gpp(gppHeader([]int{7}, false)+"~"+usnatOK, "7"), 0, 0)
	f(gpp(gppHeader([]int{7}, false)+"~"+usnatOut, "7"), 0, NoPersonalData)
	f(gpp(gppHeader([]int{7}, false)+"~"+usnatOK+".YA", "7"), 0, NoPersonalData) // GPC
	f(gpp(gppHeader([]int{7}, false)+"~"+usnatOK+".QA", "7"), 0, 0)
	f(gpp(gppHeader([]int{7}, false)+"~"+usnatOK[:4], "7"), 0, BadConsent|NoPersonalData)
	f(gpp(gppHeader([]int{6, 7}, false)+"~1YNN~"+usnatOK, "6,7"), 0, 0)
	f(gpp(gppHeader([]int{7, 8}, false)+"~"+usnatOK+"~"+uscaString(2, 2, [2]int{0, 0}), "8"), 0, 0)
	f(gpp(gppHeader([]int{7, 8}, false)+"~"+usnatOK+"~"+uscaString(2, 1, [2]int{0, 0}), "8"), 0, NoPersonalData)
	f(gpp(gppHeader([]int{7, 8}, false)+"~"+usnatOK+"~"+uscaString(2, 1, [2]int{0, 0}), "7"), 0, 0)
	// State sections: usva (9) and usct (12) decoded, ids 24-27 not.
	f(gpp(gppHeader([]int{7, 9}, false)+"~"+usnatOK+"~BAAAABA", "9"), 0, 0)
	f(gpp(gppHeader([]int{7, 9}, false)+"~"+usnatOK+"~BVWSSVY", "9"), 0, NoPersonalData)
	f(gpp(gppHeader([]int{7, 9}, false)+"~"+usnatOK+"~BVWSSVY", "7"), 0, 0)
	f(gpp(gppHeader([]int{12}, false)+"~BAAAAAEA.QA", "12"), 0, 0)
	f(gpp(gppHeader([]int{12}, false)+"~BAAAAAEA.YA", "12"), 0, NoPersonalData) // GPC
	f(gpp(gppHeader([]int{12}, false)+"~BAAAAA", "12"), 0, BadConsent|NoPersonalData)
	f(gpp(gppHeader([]int{7, 25}, false)+"~"+usnatOK+"~BQAA.AAA", "25"), 0, NoPersonalData)
	// An applicable section that is missing.
	f(gpp(gppHeader([]int{7}, false)+"~"+usnatOK, "7,8"), 0, NoPersonalData)
	f(gpp("gppString", "7"), 0, BadConsent|NoPersonalData)
	// gdpr 1 with the TCF string only in GPP.
	f(`{"id":"a","regs":{"gdpr":1,"gpp":"`+gppHeader([]int{2}, false)+"~"+tcfAll+`","gpp_sid":[2]},`+imp+`}`, 0, 0)
	f(`{"id":"a","regs":{"gdpr":1,"gpp":"`+gppHeader([]int{2}, false)+"~"+tcfAll+`","gpp_sid":[6]},`+imp+`}`, 0, NoPersonalData|NoTCF)
	f(`{"id":"a","regs":{"gdpr":1,"gpp":"`+gppHeader([]int{2}, false)+"~CPx"+`","gpp_sid":[2]},`+imp+`}`, 0, BadConsent|NoPersonalData|NoTCF)
	f(`{"id":"a","regs":{"gdpr":1,"gpp":"gppString"},`+imp+`}`, 0, BadConsent|NoPersonalData|NoTCF)
	// Without gdpr 1, a TCF string that does not decode is no NoTCF.
	f(`{"id":"a","regs":{"gpp":"`+gppHeader([]int{2}, false)+"~CPx"+`","gpp_sid":[2]},`+imp+`}`, 0, BadConsent|NoPersonalData)
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

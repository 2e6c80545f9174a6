package openrtb

// OpenRTB's geo.country is ISO 3166-1 alpha-3 ("USA"), and campaigns
// target alpha-3 codes, but some exchanges send alpha-2 ("US"; 5 of the
// shared corpus's requests do). The parser rewrites a two-letter code to
// its alpha-3 form so such requests still match geo targeting.
//
// country_table.go is generated from Debian's iso-codes package
// (apt-get install iso-codes) with:
//
//	python3 -c 'import json; [print("\t{%r, %r}: %r," % (e["alpha_2"][0], e["alpha_2"][1], e["alpha_3"]))
//	  for e in sorted(json.load(open("/usr/share/iso-codes/json/iso_3166-1.json"))["3166-1"], key=lambda e: e["alpha_2"])]'
//
// (with the quotes of the alpha-3 strings turned into double quotes).
var alpha3 = buildAlpha3()

// buildAlpha3 turns the table into byte slices once, so that normalising
// a country costs a map lookup and no allocation.
func buildAlpha3() map[[2]byte][]byte {
	m := make(map[[2]byte][]byte, len(alpha2To3))
	for k, v := range alpha2To3 {
		m[k] = []byte(v)
	}
	return m
}

// normalizeCountry rewrites an alpha-2 code (either case) to alpha-3;
// anything else is left as sent.
func normalizeCountry(c []byte) []byte {
	if len(c) != 2 {
		return c
	}
	k := [2]byte{upper(c[0]), upper(c[1])}
	if v, ok := alpha3[k]; ok {
		return v
	}
	return c
}

func upper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

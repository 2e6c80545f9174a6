package campaign

import "strconv"

// Markup templates of generated creatives. They are realistic but short, so
// that a 100,000-campaign file stays small; ${AUCTION_PRICE} is left for the
// exchange to substitute. They concatenate rather than use fmt, because
// Generate builds up to 200,000 of them.

// vastVersion maps an OpenRTB protocol to the VAST version in the document.
func vastVersion(protocol int) string {
	switch protocol {
	case 2, 5:
		return "2.0"
	case 3, 6:
		return "3.0"
	default:
		return "4.0"
	}
}

func vastMarkup(id, adomain string, dur, protocol int, mime string) string {
	return `<VAST version="` + vastVersion(protocol) + `"><Ad id="` + id + `"><InLine><AdSystem>rtbd</AdSystem><AdTitle>` + adomain + `</AdTitle>` +
		`<Impression><![CDATA[https://t.` + adomain + `/imp?crid=` + id + `&price=${AUCTION_PRICE}]]></Impression>` +
		`<Creatives><Creative id="` + id + `"><Linear><Duration>` + hms(dur) + `</Duration><MediaFiles>` +
		`<MediaFile delivery="progressive" type="` + mime + `" width="1920" height="1080"><![CDATA[https://cdn.` + adomain + `/` + id + `.mp4]]></MediaFile>` +
		`</MediaFiles></Linear></Creative></Creatives></InLine></Ad></VAST>`
}

func audioMarkup(id, adomain string, dur int) string {
	return `<VAST version="3.0"><Ad id="` + id + `"><InLine><AdSystem>rtbd</AdSystem><AdTitle>` + adomain + `</AdTitle>` +
		`<Impression><![CDATA[https://t.` + adomain + `/imp?crid=` + id + `&price=${AUCTION_PRICE}]]></Impression>` +
		`<Creatives><Creative><Linear><Duration>` + hms(dur) + `</Duration><MediaFiles>` +
		`<MediaFile delivery="progressive" type="audio/mpeg"><![CDATA[https://cdn.` + adomain + `/` + id + `.mp3]]></MediaFile>` +
		`</MediaFiles></Linear></Creative></Creatives></InLine></Ad></VAST>`
}

func bannerMarkup(id, adomain string, w, h int) string {
	ws, hs := strconv.Itoa(w), strconv.Itoa(h)
	return `<a href="https://` + adomain + `/?crid=` + id + `" target="_blank"><img src="https://cdn.` + adomain + `/` + id +
		`.jpg" width="` + ws + `" height="` + hs + `" alt=""></a>` +
		`<img src="https://t.` + adomain + `/imp?crid=` + id + `&price=${AUCTION_PRICE}" width="1" height="1" alt="">`
}

func nativeMarkup(id, adomain string) string {
	return `{"native":{"ver":"1.2","assets":[{"id":1,"title":{"text":"Offers from ` + adomain + `"}},` +
		`{"id":2,"img":{"type":3,"url":"https://cdn.` + adomain + `/` + id + `.jpg","w":1200,"h":627}},{"id":3,"data":{"type":1,"value":"` + adomain + `"}}],` +
		`"link":{"url":"https://` + adomain + `/?crid=` + id + `"},"imptrackers":["https://t.` + adomain + `/imp?crid=` + id + `&price=${AUCTION_PRICE}"]}}`
}

// hms formats seconds as the VAST Duration HH:MM:SS.
func hms(sec int) string {
	b := make([]byte, 0, 8)
	for i, v := range [3]int{sec / 3600, sec / 60 % 60, sec % 60} {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, byte('0'+v/10%10), byte('0'+v%10))
	}
	return string(b)
}

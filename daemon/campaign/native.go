package campaign

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/rtbd/rtbd/daemon/jsonkeys"
)

// NativeMarkup is what rtbd reads of a native creative's markup, a
// Native Ads response (1.1 or 1.2, with or without the 1.0 "native"
// wrapper): a native bid carries these pieces under the request's asset
// ids (see docs/data-format.md).
type NativeMarkup struct {
	Native *NativeMarkup `json:"native"`
	Assets []NativeAsset `json:"assets"`
	// Link is the link object as the markup has it, copied into bids.
	Link          json.RawMessage `json:"link"`
	ImpTrackers   []string        `json:"imptrackers"`
	EventTrackers []struct {
		Event  int    `json:"event"`
		Method int    `json:"method"`
		URL    string `json:"url"`
	} `json:"eventtrackers"`
	Privacy string `json:"privacy"`
}

// NativeAsset is one asset of a native creative's markup.
type NativeAsset struct {
	Title *struct {
		Text string `json:"text"`
	} `json:"title"`
	Img *struct {
		Type int    `json:"type"`
		URL  string `json:"url"`
		W    int    `json:"w"`
		H    int    `json:"h"`
	} `json:"img"`
	Data *struct {
		Type  int    `json:"type"`
		Value string `json:"value"`
	} `json:"data"`
	Video *struct {
		VASTTag string `json:"vasttag"`
	} `json:"video"`
}

// ParseNativeMarkup reads a native creative's markup, unwrapped. It must
// have a link with a url (the spec requires one, and Prebid refuses a
// response without) and an asset of one of the four kinds.
func ParseNativeMarkup(markup string) (*NativeMarkup, error) {
	var m NativeMarkup
	if err := json.Unmarshal([]byte(markup), &m); err != nil {
		return nil, err
	}
	if err := jsonkeys.Decode([]byte(markup), new(nativeSpec)); err != nil {
		return nil, err
	}
	if m.Native != nil {
		m = *m.Native
	}
	var link struct {
		URL string `json:"url"`
	}
	if len(m.Link) == 0 || m.Link[0] != '{' {
		return nil, errors.New("no link.url")
	}
	if err := json.Unmarshal(m.Link, &link); err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	if link.URL == "" {
		return nil, errors.New("no link.url")
	}
	for _, a := range m.Assets {
		if a.Title != nil && a.Title.Text != "" || a.Img != nil && a.Img.URL != "" ||
			a.Data != nil && a.Data.Type > 0 && a.Data.Value != "" || a.Video != nil && a.Video.VASTTag != "" {
			return &m, nil
		}
	}
	return nil, fmt.Errorf("no asset to fill a request's with: a title with text, an img with url, a data with type and value or a video with vasttag")
}

// hasVideo reports whether m has a video asset that fills.
func (m *NativeMarkup) hasVideo() bool {
	for _, a := range m.Assets {
		if a.Video != nil && a.Video.VASTTag != "" {
			return true
		}
	}
	return false
}

// nativeSpec holds the keys of a Native Ads 1.2 response (section 5),
// each value as it is written: the markup is decoded into it with unknown
// keys refused, so that a misspelt "imptracker" fails the load rather
// than no impression being counted. Keys the spec has and rtbd does not
// read are accepted.
type nativeSpec struct {
	Native        *nativeSpec       `json:"native"` // the 1.0 wrapper
	Ver           any               `json:"ver"`
	Assets        []nativeAssetSpec `json:"assets"`
	AssetsURL     any               `json:"assetsurl"`
	DCOURL        any               `json:"dcourl"`
	Link          *nativeLinkSpec   `json:"link"`
	ImpTrackers   any               `json:"imptrackers"`
	JSTracker     any               `json:"jstracker"`
	EventTrackers []struct {
		Event      any `json:"event"`
		Method     any `json:"method"`
		URL        any `json:"url"`
		CustomData any `json:"customdata"`
		Ext        any `json:"ext"`
	} `json:"eventtrackers"`
	Privacy any `json:"privacy"`
	Ext     any `json:"ext"`
}

type nativeAssetSpec struct {
	ID       any `json:"id"`
	Required any `json:"required"`
	Title    *struct {
		Text any `json:"text"`
		Len  any `json:"len"`
		Ext  any `json:"ext"`
	} `json:"title"`
	Img *struct {
		Type any `json:"type"`
		URL  any `json:"url"`
		W    any `json:"w"`
		H    any `json:"h"`
		Ext  any `json:"ext"`
	} `json:"img"`
	Video *struct {
		VASTTag any `json:"vasttag"`
		Ext     any `json:"ext"`
	} `json:"video"`
	Data *struct {
		Type  any `json:"type"`
		Len   any `json:"len"`
		Value any `json:"value"`
		Label any `json:"label"`
		Ext   any `json:"ext"`
	} `json:"data"`
	Link *nativeLinkSpec `json:"link"`
	Ext  any             `json:"ext"`
}

type nativeLinkSpec struct {
	URL           any `json:"url"`
	ClickTrackers any `json:"clicktrackers"`
	Fallback      any `json:"fallback"`
	Ext           any `json:"ext"`
}

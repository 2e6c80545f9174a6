package campaign

import "testing"

// TestBannerTypes: a banner creative's types are its btype, else read
// from its markup.
func TestBannerTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		btype  []int
		markup string
		want   uint8
	}{
		{nil, `<a href="x">Buy now</a>`, 1 << 1},
		{nil, `<a href="x"><IMG src="y"></a>`, 1 << 2},
		{nil, `<Script src="https://t.example/ad.js"></script>`, 1 << 3},
		{nil, `<iframe src="https://t.example/ad.html"></iframe><img src="p">`, 1<<4 | 1<<2},
		{[]int{2}, `<script></script>`, 1 << 2},
		{[]int{1, 4}, ``, 1<<1 | 1<<4},
	} {
		cr := Creative{Type: MediaBanner, BType: tc.btype, Markup: tc.markup}
		if got := cr.BannerTypes(); got != tc.want {
			t.Errorf("BannerTypes of btype %v, markup %q = %08b; want %08b", tc.btype, tc.markup, got, tc.want)
		}
	}
}

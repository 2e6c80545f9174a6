package decision

import (
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestDomainHash: the one-copy assembly gives the hash of
// "campaign_x_domain=<id>|<domain>" for short and long ids and domains,
// including those that do not fit Ctx.xdom.
func TestDomainHash(t *testing.T) {
	t.Parallel()
	s := &Snapshot{model: model{on: true}}
	s.model.fam[famXDomain] = true
	ids := []string{"c", "c000001", "a-rather-long-campaign-identifier-0123456789", strings.Repeat("x", xdomAt)}
	for _, id := range ids {
		s.camps = append(s.camps, ccamp{id: []byte(id)})
	}
	s.precomputeCrossPrefixes()
	c := &Ctx{}
	doms := []string{"", "a.tv", "com.example.someapp", strings.Repeat("d", xdomCap-xdomAt), strings.Repeat("e", xdomCap)}
	for _, dom := range doms {
		c.rf.domain = []byte(dom)
		c.setDomain()
		for o := range s.camps {
			want := xxhash.Sum64String("campaign_x_domain=" + string(s.camps[o].id) + "|" + dom)
			if got := s.domainHash(c, o); got != want {
				t.Fatalf("id %q domain %q: got %x; want %x", s.camps[o].id, dom, got, want)
			}
		}
	}
}

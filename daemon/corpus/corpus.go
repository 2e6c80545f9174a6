// Package corpus embeds the shared OpenRTB corpus: real bid requests and
// responses from public repositories (see SOURCES.md for origin and licence)
// and requests that Prebid Server rejects. Tests, fuzz seeds, rtbload's
// default request mix and the demo data set all draw on it.
package corpus

import (
	"embed"
	"io/fs"
	"path"
	"sort"
)

//go:embed requests/*.json responses/*.json invalid/*.json SOURCES.md
var files embed.FS

// File is one corpus entry.
type File struct {
	Name string // base name, e.g. "iab__2.6-video.json"
	Body []byte
}

// Requests returns the valid bid requests, sorted by name. The returned
// bodies are shared: do not modify them.
func Requests() []File { return load("requests") }

// Request returns the body of the valid bid request named name (e.g.
// "iab__2.6-video.json"), and false when there is none.
func Request(name string) ([]byte, bool) {
	b, err := files.ReadFile(path.Join("requests", path.Base(name)))
	return b, err == nil
}

// Responses returns the bid responses, sorted by name.
func Responses() []File { return load("responses") }

// Invalid returns requests that a strict exchange rejects, sorted by name.
// Some are still decodable JSON (rtbd may answer them with 204 instead of 400).
func Invalid() []File { return load("invalid") }

func load(dir string) []File {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		panic("BUG: corpus directory missing: " + err.Error())
	}
	out := make([]File, 0, len(entries))
	for _, e := range entries {
		b, err := files.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			panic("BUG: cannot read embedded corpus file: " + err.Error())
		}
		out = append(out, File{Name: e.Name(), Body: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

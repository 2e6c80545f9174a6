package campaign

import (
	"errors"
	"fmt"
	"strings"
)

// maxProblems is how many problems a [ValidationError] lists; the rest are
// counted. A file with a systematic mistake would otherwise produce a log
// line per campaign.
const maxProblems = 10

// ValidationError lists the problems found in a data file. Each problem names
// the campaign (when there is one) and the field, for example
//
//	campaign "ctv-1": targeting.deviceTypes[2]: unknown device type 12
type ValidationError struct {
	// File prefixes every problem in Error, e.g. "campaigns.json"; may be empty.
	File string
	// Problems holds at most 10 problems, in file order.
	Problems []string
	// More counts the problems found beyond those in Problems.
	More int
}

// Error returns one line per problem, each prefixed with File.
func (e *ValidationError) Error() string {
	var sb strings.Builder
	prefix := ""
	if e.File != "" {
		prefix = e.File + ": "
	}
	for i, p := range e.Problems {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(prefix)
		sb.WriteString(p)
	}
	if e.More > 0 {
		fmt.Fprintf(&sb, "\n%sand %d more problems", prefix, e.More)
	}
	return sb.String()
}

// problems collects validation problems under a path prefix.
type problems struct {
	list []string
	more int
}

func (p *problems) addf(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.more++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list, More: p.more}
}

// withFile sets the file name of a *ValidationError (or wraps any other error).
func withFile(name string, err error) error {
	if err == nil {
		return nil
	}
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		ve.File = name
		return ve
	}
	return fmt.Errorf("%s: %w", name, err)
}

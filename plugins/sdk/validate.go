package sdk

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Fields validates a JSON object field by field, collecting Laravel-style messages.
// Every getter reports whether the field was present and valid, so a handler can
// build its update from exactly the fields it got.
//
//	f, resp, ok := sdk.ParseFields(req)
//	title, _ := f.String("title", sdk.Required, 5, 120)
//	if !f.Valid() { return f.Invalid() }
type Fields struct {
	raw  map[string]json.RawMessage
	errs Errors
}

// Presence rules.
const (
	Required  = true
	Sometimes = false
)

// ParseFields decodes the body as a JSON object.
func ParseFields(r *Request) (*Fields, Response, bool) {
	f := &Fields{errs: Errors{}}
	if len(r.Body) == 0 {
		f.raw = map[string]json.RawMessage{}
		return f, Response{}, true
	}
	if err := json.Unmarshal(r.Body, &f.raw); err != nil {
		return nil, Error(400, "The request body must be a JSON object."), false
	}
	if f.raw == nil {
		f.raw = map[string]json.RawMessage{}
	}
	return f, Response{}, true
}

// Errors returns the collected errors; handlers may add their own.
func (f *Fields) Errors() Errors { return f.errs }

func (f *Fields) Valid() bool { return len(f.errs) == 0 }

func (f *Fields) Invalid() Response { return Invalid(f.errs) }

// Has reports whether the field is present and not null.
func (f *Fields) Has(name string) bool {
	v, ok := f.raw[name]
	return ok && string(v) != "null"
}

func human(name string) string { return strings.ReplaceAll(name, "_", " ") }

func (f *Fields) get(name string, required bool) (json.RawMessage, bool) {
	v, ok := f.raw[name]
	if !ok || string(v) == "null" || string(v) == `""` {
		if required {
			f.errs.Add(name, "The "+human(name)+" field is required.")
		}
		return nil, false
	}
	return v, true
}

// String reads a string of min..max characters (after trimming spaces).
func (f *Fields) String(name string, required bool, minLen, maxLen int) (string, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		f.errs.Add(name, "The "+human(name)+" field must be a string.")
		return "", false
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && required:
		f.errs.Add(name, "The "+human(name)+" field is required.")
		return "", false
	case n < minLen:
		f.errs.Add(name, "The "+human(name)+" field must be at least "+strconv.Itoa(minLen)+" characters.")
		return "", false
	case n > maxLen:
		f.errs.Add(name, "The "+human(name)+" field must not be greater than "+strconv.Itoa(maxLen)+" characters.")
		return "", false
	}
	return s, true
}

// OneOf reads a string that must be one of allowed.
func (f *Fields) OneOf(name string, required bool, allowed ...string) (string, bool) {
	s, ok := f.String(name, required, 0, 255)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if s == a {
			return s, true
		}
	}
	f.errs.Add(name, "The selected "+human(name)+" is invalid.")
	return "", false
}

// Int reads an integer in [min, max].
func (f *Fields) Int(name string, required bool, minV, maxV int64) (int64, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(v), 10, 64) // JSON integers only: no strings, fractions or exponents
	if err != nil {
		f.errs.Add(name, "The "+human(name)+" field must be an integer.")
		return 0, false
	}
	if n < minV || n > maxV {
		f.errs.Add(name, "The "+human(name)+" field must be between "+strconv.FormatInt(minV, 10)+" and "+strconv.FormatInt(maxV, 10)+".")
		return 0, false
	}
	return n, true
}

// Float reads a number in [min, max].
func (f *Fields) Float(name string, required bool, minV, maxV float64) (float64, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return 0, false
	}
	var x float64
	if json.Unmarshal(v, &x) != nil {
		f.errs.Add(name, "The "+human(name)+" field must be a number.")
		return 0, false
	}
	if x < minV || x > maxV || math.IsNaN(x) {
		f.errs.Add(name, "The "+human(name)+" field must be between "+strconv.FormatFloat(minV, 'f', -1, 64)+" and "+strconv.FormatFloat(maxV, 'f', -1, 64)+".")
		return 0, false
	}
	return x, true
}

// Strings reads an array of minItems..maxItems strings, each 1..maxLen characters,
// trimmed, lower-cased and de-duplicated (tags such as skills).
func (f *Fields) Strings(name string, required bool, minItems, maxItems, maxLen int) ([]string, bool) {
	v, ok := f.get(name, required)
	if !ok {
		return nil, false
	}
	var list []any
	if json.Unmarshal(v, &list) != nil {
		f.errs.Add(name, "The "+human(name)+" field must be an array.")
		return nil, false
	}
	if len(list) < minItems || len(list) > maxItems {
		f.errs.Add(name, "The "+human(name)+" field must have between "+strconv.Itoa(minItems)+" and "+strconv.Itoa(maxItems)+" items.")
		return nil, false
	}
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	valid := true
	for i, item := range list {
		s, isStr := item.(string)
		s = strings.ToLower(strings.TrimSpace(s))
		key := name + "." + strconv.Itoa(i)
		if !isStr {
			f.errs.Add(key, "The "+name+"."+strconv.Itoa(i)+" field must be a string.")
			valid = false
			continue
		}
		if n := utf8.RuneCountInString(s); n == 0 || n > maxLen {
			f.errs.Add(key, "The "+name+"."+strconv.Itoa(i)+" field must be between 1 and "+strconv.Itoa(maxLen)+" characters.")
			valid = false
			continue
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, valid
}

// Unknown adds an error for every field not in known, so typos are not silently dropped.
func (f *Fields) Unknown(known ...string) {
	for k := range f.raw {
		found := false
		for _, n := range known {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			f.errs.Add(k, "The "+human(k)+" field is not allowed.")
		}
	}
}

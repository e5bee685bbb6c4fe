package config

import (
	"fmt"
	"os"
	"strings"
)

// iniFile is an INI file as Python's configparser.ConfigParser reads
// Tahoe's tahoe.cfg: "[section]" headers; "key = value" or "key: value"
// lines, split at the first '=' or ':'; keys lowercased, section names
// kept as written, keys and values trimmed; whole-line comments starting
// with '#' or ';' (no inline comments); a line indented deeper than its
// key continues that key's value, joined with "\n" (blank lines between
// are kept, trailing ones dropped); a later key or section of the same
// name adds to or overrides the earlier one, as with strict=False.
// Values are interpolated as BasicInterpolation does for "%%"; a "%(name)s"
// reference is refused.
type iniFile struct {
	path     string
	sections map[string]map[string]iniValue
}

// iniValue is one key's value and the line it starts on.
type iniValue struct {
	value string
	line  int
}

// readINI reads and parses the file at path.
func readINI(path string) (*iniFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseINI(path, string(data))
}

// parseINI parses text, read from path (for messages).
func parseINI(path, text string) (*iniFile, error) {
	f := &iniFile{path: path, sections: map[string]map[string]iniValue{}}
	text = strings.TrimPrefix(text, "\ufeff")
	var sect map[string]iniValue
	var key string // the key a continuation line extends
	var indent int // that key's indentation
	var blanks int // blank lines since the last value line
	for i, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		n := i + 1
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		if strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		if trimmed == "" {
			blanks++
			continue
		}
		cur := len(line) - len(trimmed)
		if key != "" && cur > indent {
			v := sect[key]
			v.value += strings.Repeat("\n", blanks+1) + trimmed
			sect[key] = v
			blanks = 0
			continue
		}
		blanks = 0
		if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") && len(trimmed) > 2 {
			name := trimmed[1 : len(trimmed)-1]
			if f.sections[name] == nil {
				f.sections[name] = map[string]iniValue{}
			}
			sect, key = f.sections[name], ""
			continue
		}
		if sect == nil {
			return nil, fmt.Errorf("%s:%d: a key before any [section] header: %q", path, n, trimmed)
		}
		i := strings.IndexAny(trimmed, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("%s:%d: want 'key = value' or 'key: value', found %q", path, n, trimmed)
		}
		key = strings.ToLower(strings.TrimSpace(trimmed[:i]))
		indent = cur
		sect[key] = iniValue{value: strings.TrimSpace(trimmed[i+1:]), line: n}
	}
	return f, nil
}

// get returns the interpolated value of [section]key and whether it is
// set.
func (f *iniFile) get(section, key string) (string, bool, error) {
	v, ok := f.sections[section][key]
	if !ok {
		return "", false, nil
	}
	s, err := interpolate(v.value)
	if err != nil {
		return "", true, fmt.Errorf("%s:%d: [%s]%s: %v", f.path, v.line, section, key, err)
	}
	return s, true, nil
}

// line returns the line [section]key starts on, 0 if it is not set.
func (f *iniFile) line(section, key string) int { return f.sections[section][key].line }

// interpolate applies BasicInterpolation's "%%" → "%" and refuses the
// rest, as configparser would fail on it or need other keys.
func interpolate(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '(' {
			return "", fmt.Errorf("%%(name)s interpolation is not supported; write the value itself")
		}
		return "", fmt.Errorf("'%%' must be followed by '%%' or '(', found: %q", s[i:])
	}
	return b.String(), nil
}

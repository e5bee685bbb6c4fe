package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"
)

// NewWire returns the logger a plugin process logs through: records at
// level and above, as slog's JSON lines ("time", "level", "msg", then
// the attributes) on w, its stderr. The host reads them back with Relay.
func NewWire(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// Relay is a writer that re-emits the records NewWire wrote through a
// logger of its own: each line that is a JSON object with a "level" and
// a "msg" becomes a record of that level, time and message, with the
// object's other members as attributes in their order (nested objects
// as groups). Every other line (a panic, something a plugin printed
// without its logger) is passed to Raw. Lines may arrive in pieces; a
// line is handled once its newline arrives, and a last line without one
// at Flush. It is safe for concurrent use.
type Relay struct {
	// Logger receives the records; its level applies.
	Logger *slog.Logger
	// Raw receives every line that is not a record, without its
	// newline. Nil drops them.
	Raw func(line string)

	mu  sync.Mutex
	buf []byte
}

// maxLine bounds a line held back waiting for its newline.
const maxLine = 64 << 10

// Write implements io.Writer.
func (r *Relay) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	for {
		i := bytes.IndexByte(r.buf, '\n')
		if i < 0 {
			break
		}
		r.line(r.buf[:i])
		r.buf = r.buf[i+1:]
	}
	if len(r.buf) > maxLine {
		r.line(r.buf)
		r.buf = nil
	}
	if len(r.buf) == 0 {
		r.buf = nil
	}
	return len(p), nil
}

// Flush handles what is left after the last newline.
func (r *Relay) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) > 0 {
		r.line(r.buf)
		r.buf = nil
	}
}

func (r *Relay) line(b []byte) {
	b = bytes.TrimRight(b, "\r")
	if len(bytes.TrimSpace(b)) == 0 {
		return
	}
	rec, ok := ParseRecord(b)
	if !ok {
		if r.Raw != nil {
			r.Raw(string(b))
		}
		return
	}
	ctx := context.Background()
	if r.Logger != nil && r.Logger.Enabled(ctx, rec.Level) {
		r.Logger.Handler().Handle(ctx, rec)
	}
}

// ParseRecord parses one line that NewWire wrote: a JSON object with a
// string "level" (as slog.Level prints it: DEBUG, INFO, WARN, ERROR, or
// one of them plus an offset) and a string "msg", and optionally a
// "time" in RFC 3339. It reports false for anything else.
func ParseRecord(line []byte) (slog.Record, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	attrs, err := object(dec)
	if err != nil {
		return slog.Record{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return slog.Record{}, false
	}
	var (
		level          slog.Level
		msg            string
		t              time.Time
		hasLvl, hasMsg bool
		rest           = make([]slog.Attr, 0, len(attrs))
	)
	for _, a := range attrs {
		switch a.Key {
		case slog.LevelKey:
			if a.Value.Kind() == slog.KindString && level.UnmarshalText([]byte(a.Value.String())) == nil {
				hasLvl = true
				continue
			}
		case slog.MessageKey:
			if a.Value.Kind() == slog.KindString {
				msg, hasMsg = a.Value.String(), true
				continue
			}
		case slog.TimeKey:
			if a.Value.Kind() == slog.KindString {
				if x, err := time.Parse(time.RFC3339Nano, a.Value.String()); err == nil {
					t = x
					continue
				}
			}
		}
		rest = append(rest, a)
	}
	if !hasLvl || !hasMsg {
		return slog.Record{}, false
	}
	if t.IsZero() {
		t = time.Now()
	}
	rec := slog.NewRecord(t, level, msg, 0)
	rec.AddAttrs(rest...)
	return rec, true
}

var errNotObject = errors.New("not a JSON object")

// object reads one JSON object from dec, its members as attributes in
// order.
func object(dec *json.Decoder) ([]slog.Attr, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var out []slog.Attr
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errNotObject
		}
		v, err := value(dec)
		if err != nil {
			return nil, err
		}
		out = append(out, slog.Attr{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, err
	}
	return out, nil
}

// value reads one JSON value: an object becomes a group, a number an
// int64 when it is whole and a float64 otherwise, an array stays a
// []any.
func value(dec *json.Decoder) (slog.Value, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return slog.Value{}, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		g, err := object(d)
		if err != nil {
			return slog.Value{}, err
		}
		return slog.GroupValue(g...), nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return slog.Value{}, err
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return slog.Int64Value(i), nil
		}
		f, _ := n.Float64()
		return slog.Float64Value(f), nil
	}
	return slog.AnyValue(v), nil
}

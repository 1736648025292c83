package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// generation is the server's snapshot generation.
func (d *docRun) generation() int64 {
	reg, _ := d.server.query(d.t, `{ registry { generation } }`)["registry"].(map[string]any)
	g, _ := reg["generation"].(float64)
	return int64(g)
}

// curl does what curl does with the options the documents use: -s, -i,
// -I, -N, -H, -d, -X, and a pipe into head -N or grep -i WORD.
func (d *docRun) curl(f fence, cmd string) string {
	t := d.t
	if d.server == nil {
		d.server = start(t, "examples")
		d.settle()
	}
	if d.changed {
		// The commands before changed what the server serves: a reader
		// asks once it has seen the change, as a reader waits a moment.
		eventually(t, time.Minute, func() bool { return d.generation() > d.seen })
		d.settle()
		d.changed = false
	}
	pipe := ""
	if i := strings.LastIndex(cmd, " | "); i >= 0 && !strings.Contains(cmd[i:], "'") {
		cmd, pipe = cmd[:i], strings.TrimSpace(cmd[i+3:])
	}
	words := d.words(f, strings.TrimPrefix(cmd, "curl "))
	var (
		method, url, body string
		headers           []string
		include, head     bool
	)
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-H" || w == "-d" || w == "-X":
			if i+1 == len(words) {
				t.Fatalf("%s: %s needs a value", f, w)
			}
			i++
			switch w {
			case "-H":
				headers = append(headers, words[i])
			case "-d":
				body = words[i]
			case "-X":
				method = words[i]
			}
		case strings.HasPrefix(w, "-") && strings.Trim(w, "-siNI") == "":
			include = include || strings.ContainsAny(w, "iI")
			head = head || strings.Contains(w, "I")
		case !strings.HasPrefix(w, "-"):
			url = regexp.MustCompile(`^(https?://)?(127\.0\.0\.1|localhost):8080`).ReplaceAllString(w, d.server.url)
		default:
			t.Fatalf("%s: curl option %s: teach this test what it does", f, w)
		}
	}
	if method == "" {
		method = map[bool]string{true: "POST", false: "GET"}[body != ""]
		if head {
			method = "HEAD"
		}
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // curl's, unless -H says otherwise
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %s: %v", f, cmd, err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if include {
		fmt.Fprintf(&out, "%s %s\r\n", resp.Proto, resp.Status)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range resp.Header[k] {
				fmt.Fprintf(&out, "%s: %s\r\n", k, v)
			}
		}
		out.WriteString("\r\n")
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		// A stream does not end: its first line shows that it is one.
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		out.WriteString(line)
	} else if _, err := io.Copy(&out, io.LimitReader(resp.Body, 64<<20)); err != nil {
		t.Fatalf("%s: %s: %v", f, cmd, err)
	}
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	switch {
	case pipe == "":
	case regexp.MustCompile(`^head -[0-9]+$`).MatchString(pipe):
		var n int
		fmt.Sscanf(pipe, "head -%d", &n)
		lines := strings.SplitAfter(text, "\n")
		text = strings.Join(lines[:min(n, len(lines))], "")
	case strings.HasPrefix(pipe, "grep -i "):
		var kept []string
		word := strings.ToLower(strings.TrimPrefix(pipe, "grep -i "))
		for _, l := range strings.SplitAfter(text, "\n") {
			if strings.Contains(strings.ToLower(l), word) {
				kept = append(kept, l)
			}
		}
		text = strings.Join(kept, "")
	default:
		t.Fatalf("%s: | %s: teach this test what it does", f, pipe)
	}
	return text
}

// graphql checks that a schema excerpt names only what the schema has.
func (d *docRun) graphql(f fence) {
	t := d.t
	if d.schema == nil {
		if d.server == nil {
			d.server = start(t, "examples")
			d.settle()
		}
		d.schema = introspect(t, d.server)
	}
	decl := regexp.MustCompile(`(?s)\b(type|input|enum)\s+(\w+)\s*\{(.*?)\}`)
	ms := decl.FindAllStringSubmatch(stripComments(f.text), -1)
	if len(ms) == 0 {
		t.Errorf("%s: no type, input or enum in a graphql block", f)
	}
	for _, m := range ms {
		kind, name, body := m[1], m[2], m[3]
		members, ok := d.schema.types[name]
		if !ok {
			t.Errorf("%s: %s %s is not in the schema", f, kind, name)
			continue
		}
		var shown []string
		if kind == "enum" {
			shown = regexp.MustCompile(`\w+`).FindAllString(body, -1)
		} else {
			args := regexp.MustCompile(`\(([^)]*)\)`)
			for _, fm := range regexp.MustCompile(`(\w+)\s*(\([^)]*\))?\s*:`).FindAllStringSubmatch(body, -1) {
				shown = append(shown, fm[1])
				for _, am := range args.FindAllStringSubmatch(fm[2], -1) {
					for _, a := range regexp.MustCompile(`(\w+)\s*:`).FindAllStringSubmatch(am[1], -1) {
						shown = append(shown, fm[1]+"("+a[1]+")")
					}
				}
			}
		}
		for _, s := range shown {
			if !members[s] {
				t.Errorf("%s: %s.%s is not in the schema", f, name, s)
			}
		}
	}
}

func stripComments(s string) string {
	return regexp.MustCompile(`#[^\n]*`).ReplaceAllString(s, "")
}

// schemaIndex holds, for each type of the schema, its fields and their
// arguments (as field(arg)), input fields or enum values.
type schemaIndex struct{ types map[string]map[string]bool }

func introspect(tb testing.TB, p *program) *schemaIndex {
	tb.Helper()
	data := p.query(tb, `{ __schema { types { name fields { name args { name } } inputFields { name } enumValues { name } } } }`)
	raw, _ := json.Marshal(data)
	var s struct {
		Schema struct {
			Types []struct {
				Name   string
				Fields []struct {
					Name string
					Args []struct{ Name string }
				}
				InputFields []struct{ Name string }
				EnumValues  []struct{ Name string }
			}
		} `json:"__schema"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatal(err)
	}
	idx := &schemaIndex{types: map[string]map[string]bool{}}
	for _, ty := range s.Schema.Types {
		m := map[string]bool{}
		for _, f := range ty.Fields {
			m[f.Name] = true
			for _, a := range f.Args {
				m[f.Name+"("+a.Name+")"] = true
			}
		}
		for _, f := range ty.InputFields {
			m[f.Name] = true
		}
		for _, v := range ty.EnumValues {
			m[v.Name] = true
		}
		idx.types[ty.Name] = m
	}
	return idx
}

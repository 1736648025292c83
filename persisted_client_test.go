package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestApolloPersistedQueries drives the real server with Apollo Client's
// own persisted-queries link, hashed queries over GET: the first run
// sends the hash alone, gets PersistedQueryNotFound and sends the query's
// text (the link sends that retry with POST); the second sends the hash
// alone over GET and is answered, with the same data and an ETag.
func TestApolloPersistedQueries(t *testing.T) {
	clients(t)
	p := start(t, "examples")
	p.waitReady(t)
	const query = "query Poll { tasks { id version label } }"
	out := node(t, time.Minute, "persisted.mjs", p.url+"/graphql", query)
	type exchange struct {
		Method              string
		WithQuery, WithHash bool
		Status              int
		ETag                string
	}
	var got struct {
		Exchanges []exchange
		Answers   []struct {
			Tasks []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	want := []exchange{
		{Method: "GET", WithHash: true, Status: 200},                   // PersistedQueryNotFound
		{Method: "POST", WithQuery: true, WithHash: true, Status: 200}, // registered and answered
		{Method: "GET", WithHash: true, Status: 200},                   // a hit
	}
	if len(got.Exchanges) != len(want) {
		t.Fatalf("got exchanges %+v, want %+v", got.Exchanges, want)
	}
	for i, w := range want {
		g := got.Exchanges[i]
		g.ETag = ""
		if g != w {
			t.Errorf("exchange %d: got %+v, want %+v", i, got.Exchanges[i], w)
		}
	}
	if got.Exchanges[2].ETag == "" {
		t.Error("the hit by GET has no ETag")
	}
	if len(got.Answers) != 2 || len(got.Answers[0].Tasks) == 0 || len(got.Answers[1].Tasks) != len(got.Answers[0].Tasks) {
		t.Errorf("got answers %+v, want the same tasks twice", got.Answers)
	}
}

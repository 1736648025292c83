// Package schema is the GraphQL schema of the registry, written by hand
// with graphql-go, and its resolvers over one snapshot per request.
package schema

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

type snapshotKey struct{}

// WithSnapshot fixes the snapshot that every resolver of one request reads,
// so that one answer never mixes two generations.
func WithSnapshot(ctx context.Context, s *registry.Snapshot) context.Context {
	return context.WithValue(ctx, snapshotKey{}, s)
}

func snapshotOf(ctx context.Context) *registry.Snapshot {
	s, _ := ctx.Value(snapshotKey{}).(*registry.Snapshot)
	if s == nil {
		panic("schema: request without a snapshot")
	}
	return s
}

// Deps is what the resolvers need beyond the snapshot.
type Deps struct {
	Content *taskformat.Content // lazy script and test reads
	Feed    *registry.Feed      // change events for subscriptions (nil: none)
	// Reload runs a full rescan and returns the generation in force after it.
	Reload func(ctx context.Context) (int64, error)
}

// ShowsWatch says whether a query can show how sources are watched
// (SourceStatus.Watch), which changes with no new snapshot. Only the field
// Source.watch leads there, and a GraphQL name is never escaped or
// abbreviated, so a query that does not name it cannot: its answers need
// not be keyed by the watch state.
func ShowsWatch(query string) bool { return strings.Contains(query, "watch") }

// ShowsInstance says whether a query can show the run of the server
// (Registry.instance, RegistryEvent.instance), which differs between
// runs over the same catalogue: its answers must not be named by the
// catalogue alone. As for ShowsWatch, only a field of that name leads
// there.
func ShowsInstance(query string) bool { return strings.Contains(query, "instance") }

// New builds the schema.
func New(d Deps) (graphql.Schema, error) {
	t := newTypes(d)
	cfg := graphql.SchemaConfig{Query: t.query()}
	if d.Reload != nil {
		cfg.Mutation = t.mutation()
	}
	if d.Feed != nil {
		cfg.Subscription = t.subscription()
	}
	s, err := graphql.NewSchema(cfg)
	if err != nil {
		return s, fmt.Errorf("build schema: %w", err)
	}
	return s, nil
}

// safe turns a panic in a resolver into an error on that field; graphql-go
// recovers some panics itself, but not all of them, and one it misses
// takes the whole process down. It counts what the field adds to the
// answer (see answerCost) as it returns.
func safe(fn graphql.FieldResolveFn) graphql.FieldResolveFn { return guard(fn, true) }

// precharged is safe for a resolver that charges its value itself, before
// it reads it.
func precharged(fn graphql.FieldResolveFn) graphql.FieldResolveFn { return guard(fn, false) }

func guard(fn graphql.FieldResolveFn, count bool) graphql.FieldResolveFn {
	return func(p graphql.ResolveParams) (v any, err error) {
		r := runOf(p.Context)
		if err := r.stopped(); err != nil {
			return nil, err // the request is over: every field returns at once
		}
		defer func() {
			if rec := recover(); rec != nil {
				v, err = nil, fmt.Errorf("internal error in %s: %v", p.Info.FieldName, rec)
			}
		}()
		v, err = fn(p)
		if err == nil && count && r != nil && r.maxBytes > 0 {
			if err = r.charge(answerCost(p, v)); err != nil {
				v = nil
			}
		}
		return v, err
	}
}

// requestContext is the request's own context, which ends with it; the
// context graphql-go hands to resolvers never ends (see execute).
func requestContext(p graphql.ResolveParams) context.Context {
	if r := runOf(p.Context); r != nil {
		return r.ctx
	}
	return p.Context
}

// charge counts content toward the answer's size limit.
func charge(p graphql.ResolveParams, n int) error { return runOf(p.Context).charge(n) }

func timeString(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

package schema

import (
	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

func (t *types) subscription() *graphql.Object {
	kind := graphql.NewEnum(graphql.EnumConfig{
		Name:        "EventKind",
		Description: "What a change event is about.",
		Values: graphql.EnumValueConfigMap{
			string(registry.TaskAdded):       {Value: registry.TaskAdded, Description: "A task version appeared."},
			string(registry.TaskUpdated):     {Value: registry.TaskUpdated, Description: "A task version changed, or became stale, or recovered."},
			string(registry.TaskRemoved):     {Value: registry.TaskRemoved, Description: "A task version went away with its files."},
			string(registry.ErrorRaised):     {Value: registry.ErrorRaised, Description: "A load error appeared."},
			string(registry.ErrorCleared):    {Value: registry.ErrorCleared, Description: "A load error went away."},
			string(registry.VerdictChanged):  {Value: registry.VerdictChanged, Description: "The status or the cases of a task version's test verdict changed."},
			string(registry.ConflictRaised):  {Value: registry.ConflictRaised, Description: "A second copy of a task version appeared (same uuid and version, most often a task folder copied without a new uuid): conflict says where, and task is the copy served, which keeps its place."},
			string(registry.ConflictCleared): {Value: registry.ConflictCleared, Description: "A conflict went away: one of the copies was removed or given another uuid or version."},
		},
	})
	ev := func(p graphql.ResolveParams) registry.Event { return src[registry.Event](p) }
	event := graphql.NewObject(graphql.ObjectConfig{
		Name:        "RegistryEvent",
		Description: "One change to the catalogue.",
		Fields: graphql.Fields{
			"generation": field(nn(graphql.Int), "The generation of the snapshot that made the change: with instance, where to resume from (since).", func(p graphql.ResolveParams) (any, error) { return int(ev(p).Generation), nil }),
			"instance": field(nn(graphql.String), "The run of the server that made the change (as Registry.instance): pass it with since, so that a resume after a restart gets RESYNC rather than other events.", func(p graphql.ResolveParams) (any, error) {
				return t.d.Feed.Instance(), nil // a subscription exists only with a feed
			}),
			"kind":    field(nn(kind), "What happened.", func(p graphql.ResolveParams) (any, error) { return ev(p).Kind, nil }),
			"id":      field(graphql.ID, "The task's UUID: for task events, and for error events on a task that is served.", func(p graphql.ResolveParams) (any, error) { return nilIfEmpty(ev(p).ID), nil }),
			"version": field(graphql.String, "The task's version, where id is given.", func(p graphql.ResolveParams) (any, error) { return nilIfEmpty(ev(p).Version), nil }),
			"task": field(t.task, "The task as served right after the change (just before it, for TASK_REMOVED; for an error event, the version that its files belong to, served stale while they are broken); its availableVersions are those of that moment, also when the event is replayed.", func(p graphql.ResolveParams) (any, error) {
				e := ev(p)
				if e.Task != nil {
					return e.Task, nil
				}
				if e.ID != "" && e.Snapshot != nil {
					if task, ok := e.Snapshot.Task(e.ID, e.Version); ok {
						return task, nil
					}
				}
				return nil, nil
			}),
			"error": field(t.loadError, "The error, for error events.", func(p graphql.ResolveParams) (any, error) { return errOrNil(ev(p).Error), nil }),
			"conflict": field(t.conflict, "The conflict, for CONFLICT_RAISED and CONFLICT_CLEARED.", func(p graphql.ResolveParams) (any, error) {
				if c := ev(p).Conflict; c != nil {
					return *c, nil
				}
				return nil, nil
			}),
		},
	})
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Subscription",
		Description: "The live change feed, over WebSocket (graphql-transport-ws) or Server-Sent Events.",
		Fields: graphql.Fields{
			"registryEvents": &graphql.Field{
				Type:        nn(event),
				Description: "Changes as they happen. With since, first every buffered change after that generation; a client too far behind, or resuming from another run of the server (it restarted), gets an error with extensions.code RESYNC and must re-read the catalogue.",
				Args: graphql.FieldConfigArgument{
					"since":    &graphql.ArgumentConfig{Type: graphql.Int, Description: "The last generation the client saw; omitted to start from now."},
					"instance": &graphql.ArgumentConfig{Type: graphql.String, Description: "The instance that since was read with (Registry.instance or RegistryEvent.instance). Generations start again when the server restarts: with instance, a since from before a restart gets RESYNC; without it, only a since ahead of the server's generation can be told apart."},
				},
				Resolve: safe(func(p graphql.ResolveParams) (any, error) {
					return p.Source, nil // the executor runs once per event, with the event as root
				}),
			},
		},
	})
}

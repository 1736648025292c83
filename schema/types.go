package schema

import (
	"encoding/json"
	"time"

	"github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/ratchet-tasks/ratchet-registry/registry"
	"github.com/ratchet-tasks/ratchet-registry/registry/taskformat"
)

// jsonScalar carries task schemas and test values as they were written.
var jsonScalar = graphql.NewScalar(graphql.ScalarConfig{
	Name:        "JSON",
	Description: "Any JSON value, as written in the task's files.",
	Serialize: func(v any) any {
		if raw, ok := v.(json.RawMessage); ok {
			if raw == nil {
				return nil
			}
			return raw
		}
		return v
	},
	ParseValue:   func(v any) any { return v },
	ParseLiteral: func(ast.Value) any { return nil },
})

// enums turns the registry's string values into GraphQL enums, so that
// clients get the list and can switch on it.
func enums() (loadErrorKind, sourceStatus *graphql.Enum) {
	loadErrorKind = graphql.NewEnum(graphql.EnumConfig{
		Name:        "LoadErrorKind",
		Description: "What sort of problem a load error is.",
		Values: graphql.EnumValueConfigMap{
			string(registry.KindSyntax):  {Value: registry.KindSyntax, Description: "Malformed JSON or JavaScript."},
			string(registry.KindInvalid): {Value: registry.KindInvalid, Description: "Well-formed but wrong: a bad uuid, version, label or test shape."},
			string(registry.KindMissing): {Value: registry.KindMissing, Description: "A required file is absent."},
			string(registry.KindSchema):  {Value: registry.KindSchema, Description: "A JSON Schema that does not compile."},
			string(registry.KindTest):    {Value: registry.KindTest, Description: "A test case that its task's schemas reject."},
			string(registry.KindArchive): {Value: registry.KindArchive, Description: "An unsafe, corrupt or oversized zip."},
			string(registry.KindIO):      {Value: registry.KindIO, Description: "A file or folder that cannot be read."},
			string(registry.KindFetch):   {Value: registry.KindFetch, Description: "An HTTP source or bundle that could not be fetched."},
		},
	})
	sourceStatus = graphql.NewEnum(graphql.EnumConfig{
		Name:        "SourceStatus",
		Description: "How a source is doing.",
		Values: graphql.EnumValueConfigMap{
			"LOADING":  {Value: registry.StatusLoading, Description: "Its first load has not finished."},
			"OK":       {Value: registry.StatusOK, Description: "Its last load worked; its tasks may still have load errors of their own."},
			"DEGRADED": {Value: registry.StatusDegraded, Description: "Failing now, still serving the tasks it had; error says why."},
			"ERROR":    {Value: registry.StatusError, Description: "Failing, with nothing to serve; error says why."},
		},
	})
	return loadErrorKind, sourceStatus
}

type types struct {
	d         Deps
	task      *graphql.Object
	loadError *graphql.Object
	conflict  *graphql.Object
	source    *graphql.Object
	registry  *graphql.Object
	testCase  *graphql.Object
	list      listing
	verdict   *graphql.Object
}

func field(typ graphql.Output, desc string, fn func(p graphql.ResolveParams) (any, error)) *graphql.Field {
	return &graphql.Field{Type: typ, Description: desc, Resolve: safe(fn)}
}

func nn(t graphql.Type) graphql.Output { return graphql.NewNonNull(t) }
func list(t graphql.Type) graphql.Output {
	return graphql.NewNonNull(graphql.NewList(graphql.NewNonNull(t)))
}
func src[T any](p graphql.ResolveParams) T { v, _ := p.Source.(T); return v }
func newTypes(d Deps) *types               { t := &types{d: d}; t.build(); t.buildListing(); return t }
func orEmpty[T any](s []T) []T             { return append(make([]T, 0, len(s)), s...) }
func taskField(typ graphql.Output, desc string, get func(*registry.Task) any) *graphql.Field {
	return field(typ, desc, func(p graphql.ResolveParams) (any, error) { return get(src[*registry.Task](p)), nil })
}

func scriptSize(t *registry.Task) int64 {
	for _, f := range t.Files() {
		if f.Name == "main.js" {
			return f.Size
		}
	}
	return 0
}

// contentField serves a JSON file of a task.
func contentField(desc string, get func(*registry.Task) json.RawMessage) *graphql.Field {
	return field(jsonScalar, desc, func(p graphql.ResolveParams) (any, error) {
		return get(src[*registry.Task](p)), nil
	})
}

func (t *types) build() {
	loadErrorKind, sourceStatus := enums()
	t.loadError = loadErrorType(loadErrorKind)
	t.conflict = conflictType()
	t.source = sourceType(sourceStatus)
	t.registry = t.registryType()
	t.testCase = testCaseType()
	t.list.verdict = verdictStatusEnum()
	t.verdict = verdictType(t.list.verdict)
	t.task = t.taskType()
	// Added once Task exists, since it lists Tasks.
	t.task.AddFieldConfig("versions", field(list(t.task), "Every version of this task served now, ascending, each with its own verdict: where an older version's tests fail while the latest's pass.", func(p graphql.ResolveParams) (any, error) {
		if e, ok := snapshotOf(p.Context).Entry(src[*registry.Task](p).ID); ok {
			return e.Versions, nil
		}
		return []*registry.Task{}, nil
	}))
}

// loadErrorType is LoadError, with the Severity it names.
func loadErrorType(kind *graphql.Enum) *graphql.Object {
	severity := graphql.NewEnum(graphql.EnumConfig{
		Name:        "Severity",
		Description: "Whether a problem keeps its task out of the catalogue.",
		Values: graphql.EnumValueConfigMap{
			string(registry.SeverityError):   {Value: registry.SeverityError, Description: "The task is not served, or only its last good version, stale."},
			string(registry.SeverityWarning): {Value: registry.SeverityWarning, Description: "The task is served. A problem in a test file makes that case an ERROR when tests run, unless its message says the case runs (an unknown key, no input); one in metadata.json (a misspelt optional key, a uuid derived from the name) changes nothing served."},
		},
	})
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "LoadError",
		Description: "A problem found while loading a task: the file, where in it, and what is wrong.",
		Fields: graphql.Fields{
			"severity": field(nn(severity), "ERROR for a problem that stops the task from loading; WARNING for one in a test file.", func(p graphql.ResolveParams) (any, error) { return src[*registry.LoadError](p).Level(), nil }),
			"source":   field(nn(graphql.String), "Name of the source that found it.", func(p graphql.ResolveParams) (any, error) { return src[*registry.LoadError](p).Source, nil }),
			"path":     field(nn(graphql.String), "The file as a user would open it; a file inside a zip is ARCHIVE.zip!/FILE.", func(p graphql.ResolveParams) (any, error) { return src[*registry.LoadError](p).Path, nil }),
			"file":     field(nn(graphql.String), "The file relative to its task root, like metadata.json; empty for a whole archive or source.", func(p graphql.ResolveParams) (any, error) { return src[*registry.LoadError](p).File, nil }),
			"line":     field(graphql.Int, "1-based line, null when unknown.", func(p graphql.ResolveParams) (any, error) { return intOrNil(src[*registry.LoadError](p).Line), nil }),
			"column":   field(graphql.Int, "1-based column in characters, null when unknown.", func(p graphql.ResolveParams) (any, error) { return intOrNil(src[*registry.LoadError](p).Column), nil }),
			"kind":     field(nn(kind), "What sort of problem it is.", func(p graphql.ResolveParams) (any, error) { return src[*registry.LoadError](p).Kind, nil }),
			"message":  field(nn(graphql.String), "What is wrong.", func(p graphql.ResolveParams) (any, error) { return src[*registry.LoadError](p).Message(), nil }),
		},
	})
}

func conflictType() *graphql.Object {
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Conflict",
		Description: "A task version found twice. On a cold start the first copy in configuration and path order is served, a folder before an archive of the same source; on a reload the copy already served keeps its place.",
		Fields: graphql.Fields{
			"id":      field(nn(graphql.ID), "The task's UUID.", func(p graphql.ResolveParams) (any, error) { return src[registry.Conflict](p).ID, nil }),
			"version": field(nn(graphql.String), "The version found twice.", func(p graphql.ResolveParams) (any, error) { return src[registry.Conflict](p).Version, nil }),
			"path":    field(nn(graphql.String), "The copy that lost.", func(p graphql.ResolveParams) (any, error) { return src[registry.Conflict](p).Path, nil }),
			"winner":  field(nn(graphql.String), "The copy served.", func(p graphql.ResolveParams) (any, error) { return src[registry.Conflict](p).Winner, nil }),
			"source":  field(nn(graphql.String), "The source of the copy that lost.", func(p graphql.ResolveParams) (any, error) { return src[registry.Conflict](p).Source, nil }),
			"message": field(nn(graphql.String), "What the conflict is and what to do about it.", func(p graphql.ResolveParams) (any, error) { return src[registry.Conflict](p).Message(), nil }),
		},
	})
}

// sourceType is Source, with the SourceWatch it names.
func sourceType(status *graphql.Enum) *graphql.Object {
	watch := graphql.NewObject(graphql.ObjectConfig{
		Name: "SourceWatch",
		Description: "How a filesystem source follows changes to its files now. Past the kernel's inotify limit, the folders changed most lately " +
			"are watched and the others polled: the server's log then names the sysctl to raise to watch them all.",
		Fields: graphql.Fields{
			"mode": field(nn(graphql.String), "The mode in force, after any fallback: fsnotify (kernel events), poll (stat every poll_interval) or off.",
				func(p graphql.ResolveParams) (any, error) { return src[registry.WatchStatus](p).Mode, nil }),
			"watches": field(nn(graphql.Int), "Folders watched through inotify.",
				func(p graphql.ResolveParams) (any, error) { return src[registry.WatchStatus](p).Watches, nil }),
			"polledFolders": field(nn(graphql.Int), "Folders polled: every folder in poll mode; in fsnotify mode, those past the inotify limit (0 while every folder is watched).",
				func(p graphql.ResolveParams) (any, error) { return src[registry.WatchStatus](p).Polled, nil }),
			"pollRoundSeconds": field(graphql.Float, "Seconds the last round of the polled folders took, to a tenth: a save in a folder unchanged for 10 minutes "+
				"shows within a round (one changed lately, within about one poll_interval). Null before a round is done and with nothing polled; "+
				"watch.poll_cpu sets the share of the machine that polling takes, and so the round.",
				func(p graphql.ResolveParams) (any, error) {
					if d := src[registry.WatchStatus](p).PollRound; d > 0 {
						return d.Round(100 * time.Millisecond).Seconds(), nil
					}
					return nil, nil
				}),
		},
	})
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Source",
		Description: "Where tasks come from: a folder, a zip or collection on disk, or another registry over HTTP, and its health.",
		Fields: graphql.Fields{
			"name":     field(nn(graphql.String), "The source's name: its path or URL unless the configuration names it.", func(p graphql.ResolveParams) (any, error) { return src[registry.SourceStatus](p).Name, nil }),
			"type":     field(nn(graphql.String), "The kind of source: filesystem, http, git or oci.", func(p graphql.ResolveParams) (any, error) { return string(src[registry.SourceStatus](p).Type), nil }),
			"location": field(nn(graphql.String), "Path or URL as configured.", func(p graphql.ResolveParams) (any, error) { return src[registry.SourceStatus](p).Location, nil }),
			"status":   field(nn(status), "How the source is doing.", func(p graphql.ResolveParams) (any, error) { return src[registry.SourceStatus](p).Status, nil }),
			"error": field(graphql.String, "Why the source is degraded or in error.", func(p graphql.ResolveParams) (any, error) {
				return nilIfEmpty(src[registry.SourceStatus](p).Error), nil
			}),
			"watch": field(watch, "How it follows changes to its files; null for sources that are not on disk.", func(p graphql.ResolveParams) (any, error) {
				if w, ok := src[registry.SourceStatus](p).Watch(); ok {
					return w, nil
				}
				return nil, nil
			}),
			"taskCount": field(nn(graphql.Int), "Task versions served from this source: a copy that lost a conflict to another source's (or another copy in this one) is not counted.", func(p graphql.ResolveParams) (any, error) { return src[registry.SourceStatus](p).TaskCount, nil }),
			"loadedAt": field(graphql.String, "RFC 3339 time of its last successful load.", func(p graphql.ResolveParams) (any, error) {
				at := src[registry.SourceStatus](p).LoadedAt
				if at.IsZero() {
					return nil, nil
				}
				return timeString(at), nil
			}),
			"revision": field(graphql.String, "The commit (git) or manifest digest (OCI) served; null for other sources and before the first load.", func(p graphql.ResolveParams) (any, error) {
				return nilIfEmpty(src[registry.SourceStatus](p).Revision), nil
			}),
		},
	})
}

func (t *types) registryType() *graphql.Object {
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Registry",
		Description: "The catalogue as a whole, at the generation this request reads.",
		Fields: graphql.Fields{
			"generation":   field(nn(graphql.Int), "Grows by one with every change.", func(p graphql.ResolveParams) (any, error) { return int(src[*registry.Snapshot](p).Generation), nil }),
			"taskCount":    field(nn(graphql.Int), "Tasks served, each counted once whatever its versions.", func(p graphql.ResolveParams) (any, error) { return src[*registry.Snapshot](p).TaskCount(), nil }),
			"versionCount": field(nn(graphql.Int), "Task versions served.", func(p graphql.ResolveParams) (any, error) { return src[*registry.Snapshot](p).VersionCount(), nil }),
			"ready":        field(nn(graphql.Boolean), "True once every source finished its first load.", func(p graphql.ResolveParams) (any, error) { return src[*registry.Snapshot](p).Ready(), nil }),
			"loadedAt": field(graphql.String, "RFC 3339 time this generation was built.", func(p graphql.ResolveParams) (any, error) {
				return timeString(src[*registry.Snapshot](p).LoadedAt), nil
			}),
			"instance": field(graphql.String, "Names this run of the server: generations start again when it restarts, so a generation means something only with it (see registryEvents). Null on a server without a change feed.", func(p graphql.ResolveParams) (any, error) {
				if t.d.Feed == nil {
					return nil, nil
				}
				return t.d.Feed.Instance(), nil
			}),
		},
	})
}

func testCaseType() *graphql.Object {
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "TestCase",
		Description: "One test case of a task, from one file under tests/.",
		Fields: graphql.Fields{
			"name":           field(nn(graphql.String), "File name, like tests/basic.json.", func(p graphql.ResolveParams) (any, error) { return src[taskformat.TestCase](p).Name, nil }),
			"input":          field(jsonScalar, "The input given to the task, as written.", func(p graphql.ResolveParams) (any, error) { return src[taskformat.TestCase](p).Input, nil }),
			"expectedOutput": field(jsonScalar, "The output the task must return (expected_output), as written; null when the case gives none.", func(p graphql.ResolveParams) (any, error) { return src[taskformat.TestCase](p).ExpectedOutput, nil }),
		},
	})
}

// taskType is Task, but for its versions, which list Tasks.
func (t *types) taskType() *graphql.Object {
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Task",
		Description: "One version of one task.",
		Fields: graphql.Fields{
			"id":          taskField(nn(graphql.ID), "The task's UUID.", func(t *registry.Task) any { return t.ID }),
			"version":     taskField(nn(graphql.String), "SemVer 2.0.0.", func(t *registry.Task) any { return t.Version }),
			"label":       taskField(nn(graphql.String), "Human-readable name, from metadata.json's label (or name).", func(t *registry.Task) any { return t.Label }),
			"description": taskField(nn(graphql.String), "What the task does, from metadata.json; empty when not given.", func(t *registry.Task) any { return t.Description }),
			"tags":        taskField(list(graphql.String), "metadata.json's tags, as written; empty when it has none.", func(t *registry.Task) any { return orEmpty(t.Tags) }),
			"availableVersions": field(list(graphql.String), "Every version of this task, ascending.", func(p graphql.ResolveParams) (any, error) {
				return snapshotOf(p.Context).Versions(src[*registry.Task](p).ID), nil
			}),
			"source":       taskField(nn(graphql.String), "Name of the source it came from.", func(t *registry.Task) any { return t.Source }),
			"path":         taskField(nn(graphql.String), "Its folder or zip.", func(t *registry.Task) any { return t.Path }),
			"digest":       taskField(nn(graphql.String), "sha256 over all its files.", func(t *registry.Task) any { return t.Digest }),
			"stale":        taskField(nn(graphql.Boolean), "True when its files are broken now and this is the last version that loaded.", func(t *registry.Task) any { return t.Stale }),
			"error":        taskField(t.loadError, "What is wrong with its files now, when stale.", func(t *registry.Task) any { return errOrNil(t.Error) }),
			"warnings":     taskField(list(t.loadError), "Problems in its test files (bad JSON, an input its schema rejects, an unknown key) and advice on its metadata.json (a misspelt optional key, a uuid derived from the name), each with its place; they never keep the task out of the catalogue.", func(t *registry.Task) any { return orEmpty(t.Warnings) }),
			"metadata":     contentField("metadata.json as written, unknown fields included.", func(t *registry.Task) json.RawMessage { return t.Metadata }),
			"inputSchema":  contentField("input.schema.json as written: the JSON Schema of the task's input.", func(t *registry.Task) json.RawMessage { return t.InputSchema }),
			"outputSchema": contentField("output.schema.json as written: the JSON Schema of the task's output.", func(t *registry.Task) json.RawMessage { return t.OutputSchema }),
			"script": {Type: nn(graphql.String), Description: "main.js, read when asked for.", Resolve: precharged(func(p graphql.ResolveParams) (any, error) {
				task := src[*registry.Task](p)
				// Counted before it is read, by the size taken at load: a
				// request over the limit reads no more scripts.
				if err := charge(p, int(scriptSize(task))); err != nil {
					return nil, err
				}
				return t.d.Content.Script(task)
			})},
			"verdict": field(t.verdict, "The result of its tests on every save: PENDING while they run. Null for a version no longer served (the task of a TASK_REMOVED event), whose tests no longer run.", func(p graphql.ResolveParams) (any, error) {
				snap, task := snapshotOf(p.Context), src[*registry.Task](p)
				if _, served := snap.Task(task.ID, task.Version); !served {
					return nil, nil
				}
				return snap.Verdict(task), nil
			}),
			"tests": field(list(t.testCase), "tests/*.json in name order, read when asked for.", func(p graphql.ResolveParams) (any, error) {
				tcs, err := t.d.Content.Tests(src[*registry.Task](p))
				return orEmpty(tcs), err
			}),
		},
	})
}

// intOrNil gives null for an unknown line or column rather than a 0 that
// a client could take for a position.
func intOrNil(n int) any {
	if n <= 0 {
		return nil
	}
	return n
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// errOrNil keeps a typed nil pointer from reaching graphql-go as a non-nil
// interface.
func errOrNil(e *registry.LoadError) any {
	if e == nil {
		return nil
	}
	return e
}

func (t *types) query() *graphql.Object {
	idArg := graphql.FieldConfigArgument{"id": &graphql.ArgumentConfig{Type: nn(graphql.ID), Description: "The task's UUID, in any case."}}
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Query",
		Description: "The catalogue, read from one snapshot per request.",
		Fields: graphql.Fields{
			"tasks":    t.tasksField(),
			"taskPage": t.taskPageField(),
			"task": &graphql.Field{
				Type:        t.task,
				Description: "One task: the latest version when version is omitted; null when unknown.",
				Args: graphql.FieldConfigArgument{
					"id":      idArg["id"],
					"version": &graphql.ArgumentConfig{Type: graphql.String, Description: "The exact version, like 1.2.0; omitted for the latest (stable before pre-release)."},
				},
				Resolve: safe(func(p graphql.ResolveParams) (any, error) {
					id, _ := p.Args["id"].(string)
					v, _ := p.Args["version"].(string)
					if task, ok := snapshotOf(p.Context).Task(id, v); ok {
						return task, nil
					}
					return nil, nil
				}),
			},
			"taskVersions": &graphql.Field{
				Type:        list(graphql.String),
				Description: "A task's versions in ascending precedence; empty when unknown.",
				Args:        idArg,
				Resolve: safe(func(p graphql.ResolveParams) (any, error) {
					id, _ := p.Args["id"].(string)
					return snapshotOf(p.Context).Versions(id), nil
				}),
			},
			"loadErrors": field(list(t.loadError), "Every problem found while loading.", func(p graphql.ResolveParams) (any, error) {
				return orEmpty(snapshotOf(p.Context).Errors()), nil
			}),
			"conflicts": field(list(t.conflict), "Every task version found more than once.", func(p graphql.ResolveParams) (any, error) {
				return orEmpty(snapshotOf(p.Context).Conflicts()), nil
			}),
			"sources": field(list(t.source), "Sources in configuration order.", func(p graphql.ResolveParams) (any, error) {
				return servedCounts(snapshotOf(p.Context)), nil
			}),
			"registry": field(nn(t.registry), "The catalogue as a whole.", func(p graphql.ResolveParams) (any, error) {
				return snapshotOf(p.Context), nil
			}),
		},
	})
}

// servedCounts is the snapshot's sources, each with the task versions
// served from it, which the registry's count (every copy it provides)
// exceeds by its conflict losers.
func servedCounts(snap *registry.Snapshot) []registry.SourceStatus {
	sources := snap.Sources()
	n := make(map[string]int, len(sources))
	for _, e := range snap.Entries() {
		for _, v := range e.Versions {
			n[v.Source]++
		}
	}
	for i := range sources {
		sources[i].TaskCount = n[sources[i].Name]
	}
	return orEmpty(sources)
}

package schema

import (
	"encoding/json"

	"github.com/graphql-go/graphql"
	"github.com/ratchet-tasks/ratchet-registry/registry"
)

// verdictStatusEnum is VerdictStatus, of Task.verdict and of the filter.
func verdictStatusEnum() *graphql.Enum {
	return graphql.NewEnum(graphql.EnumConfig{
		Name:        "VerdictStatus",
		Description: "The state of a task version's tests.",
		Values: graphql.EnumValueConfigMap{
			string(registry.VerdictNone):    {Value: registry.VerdictNone, Description: "The task has no tests, or this server does not run them."},
			string(registry.VerdictPending): {Value: registry.VerdictPending, Description: "Its tests are queued or running for its files as they are now."},
			string(registry.VerdictPassed):  {Value: registry.VerdictPassed, Description: "Every case passed."},
			string(registry.VerdictFailed):  {Value: registry.VerdictFailed, Description: "At least one case did not pass."},
		},
	})
}

// verdictType is the Verdict object and the types beneath it.
func verdictType(verdictStatus *graphql.Enum) *graphql.Object {
	caseStatus := graphql.NewEnum(graphql.EnumConfig{
		Name:        "CaseStatus",
		Description: "The outcome of one test case.",
		Values: graphql.EnumValueConfigMap{
			string(registry.CasePassed):  {Value: registry.CasePassed, Description: "The output matched output.schema.json and the expected output (or the task threw as the case expects)."},
			string(registry.CaseFailed):  {Value: registry.CaseFailed, Description: "The task answered, but wrongly: a different output, or no throw where one was expected."},
			string(registry.CaseError):   {Value: registry.CaseError, Description: "The task threw, its worker crashed or hit a limit, or the case itself is bad."},
			string(registry.CaseTimeout): {Value: registry.CaseTimeout, Description: "The case ran past the wall-time limit."},
		},
	})
	cr := func(p graphql.ResolveParams) registry.CaseResult { return src[registry.CaseResult](p) }
	caseResult := graphql.NewObject(graphql.ObjectConfig{
		Name:        "CaseResult",
		Description: "What one test case did.",
		Fields: graphql.Fields{
			"file":   field(nn(graphql.String), "The test file, like tests/basic.json.", func(p graphql.ResolveParams) (any, error) { return cr(p).File, nil }),
			"status": field(nn(caseStatus), "How the case ended.", func(p graphql.ResolveParams) (any, error) { return cr(p).Status, nil }),
			"message": {
				Type:        graphql.String,
				Description: "Why it did not pass, in one line, like: expected_output differs at /sum: got 4, want 3. Null when it passed.",
				Args: graphql.FieldConfigArgument{"maxBytes": &graphql.ArgumentConfig{Type: graphql.Int,
					Description: "Cut the message to this many bytes (at a character boundary), ending it with how many were left out: a dashboard that lists many cases stays under server.max_answer_bytes whatever the tasks throw. Omitted: the whole message."}},
				Resolve: safe(func(p graphql.ResolveParams) (any, error) {
					maxBytes, _ := p.Args["maxBytes"].(int)
					return nilIfEmpty(truncate(cr(p).Message, maxBytes)), nil
				}),
			},
			"expected": field(jsonScalar, "The expected output (the test file's expected_output), whether the case passed or not; null when the case gives none or expects a throw.", func(p graphql.ResolveParams) (any, error) {
				return rawOrNil(cr(p).Expected), nil
			}),
			"actual": field(jsonScalar, "What the task returned, when it returned.", func(p graphql.ResolveParams) (any, error) {
				return rawOrNil(cr(p).Actual), nil
			}),
			"durationMs": field(graphql.Float, "How long the case ran, in milliseconds.", func(p graphql.ResolveParams) (any, error) { return ms(cr(p).Duration.Seconds()), nil }),
		},
	})
	v := func(p graphql.ResolveParams) *registry.Verdict { return src[*registry.Verdict](p) }
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Verdict",
		Description: "The result of running a task version's tests/*.json, kept for its script, schemas and tests as they are now.",
		Fields: graphql.Fields{
			"status": field(nn(verdictStatus), "NONE, PENDING, PASSED or FAILED.", func(p graphql.ResolveParams) (any, error) { return v(p).Status, nil }),
			"passed": field(nn(graphql.Int), "Cases that passed.", func(p graphql.ResolveParams) (any, error) { return v(p).Passed(), nil }),
			"failed": field(nn(graphql.Int), "Cases that did not pass, whatever the reason.", func(p graphql.ResolveParams) (any, error) { return v(p).Failed(), nil }),
			"total":  field(nn(graphql.Int), "Cases run.", func(p graphql.ResolveParams) (any, error) { return len(v(p).Cases), nil }),
			"durationMs": field(graphql.Float, "The cases' run time, summed, in milliseconds; null before they ran.", func(p graphql.ResolveParams) (any, error) {
				if len(v(p).Cases) == 0 {
					return nil, nil
				}
				return ms(v(p).Duration.Seconds()), nil
			}),
			"cases": field(list(caseResult), "Each case, in file-name order.", func(p graphql.ResolveParams) (any, error) { return orEmpty(v(p).Cases), nil }),
		},
	})
}

func ms(secs float64) float64 { return secs * 1000 }

// rawOrNil keeps the JSON as JSON: the scalar would write plain bytes
// as base64.
func rawOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

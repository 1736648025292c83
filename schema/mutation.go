package schema

import (
	"github.com/graphql-go/graphql"
)

func (t *types) mutation() *graphql.Object {
	return graphql.NewObject(graphql.ObjectConfig{
		Name:        "Mutation",
		Description: "Operations that act on the registry.",
		Fields: graphql.Fields{
			"reload": field(nn(graphql.Int), "Rescan every source now; returns the generation in force after it.", func(p graphql.ResolveParams) (any, error) {
				g, err := t.d.Reload(requestContext(p))
				return int(g), err
			}),
		},
	})
}

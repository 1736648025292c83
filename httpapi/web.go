package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
)

// web holds the status page and GraphiQL with every asset they load, so
// that both work with no network beyond this machine.
//
//go:embed web
var web embed.FS

func webHandlers() (page, static, graphiql http.Handler) {
	root, _ := fs.Sub(web, "web")
	files := http.FileServer(http.FS(root))
	page = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, root, "index.html")
	})
	static = http.StripPrefix("/static", files)
	graphiql = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/graphiql" || r.URL.Path == "/graphiql/" {
			http.ServeFileFS(w, r, root, "graphiql/index.html")
			return
		}
		files.ServeHTTP(w, r)
	})
	return page, static, graphiql
}

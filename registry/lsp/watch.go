package lsp

import (
	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// watch follows each folder on disk until the session ends: what changes
// outside the editor (a git checkout, a file written by a tool) is loaded
// again as a filesystem source's watcher would have it. Clients that send
// workspace/didChangeWatchedFiles are heard too; both lead to the same
// reload, and a reload that finds nothing changed publishes nothing new.
func (s *server) watch(folders []*folder) {
	for _, f := range folders {
		batches := make(chan watcher.Batch)
		w := watcher.New(f.abs, s.cfg.Watch, s.log)
		s.wg.Go(func() {
			if err := w.Run(s.ctx, batches); err != nil {
				s.log.Warn("files changed on disk are not followed", "folder", f.abs, "error", err)
			}
		})
		s.wg.Go(func() {
			for {
				select {
				case b := <-batches:
					select {
					case s.events <- event{folder: f, batch: &b}:
					case <-s.ctx.Done():
						return
					}
				case <-s.ctx.Done():
					return
				}
			}
		})
	}
}

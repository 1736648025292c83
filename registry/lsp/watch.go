package lsp

import (
	"time"

	"github.com/ratchet-tasks/ratchet-registry/watcher"
)

// watch follows each folder on disk until the session ends: what changes
// outside the editor (a git checkout, a file written by a tool) is loaded
// again as a filesystem source's watcher would have it. Clients that send
// workspace/didChangeWatchedFiles are heard too; both lead to the same
// reload. Once a folder's watcher is set up, the folder's roots are listed
// again: a task added or removed during the setup raised no event.
func (s *server) watch(folders []*folder, since time.Time) {
	for _, f := range folders {
		batches := make(chan watcher.Batch)
		w := watcher.New(f.abs, s.cfg.Watch, s.log)
		s.wg.Go(func() {
			if err := w.RunSince(s.ctx, batches, since); err != nil {
				s.log.Warn("files changed on disk are not followed", "folder", f.abs, "error", err)
			}
		})
		s.wg.Go(func() {
			ready := w.Ready()
			for {
				select {
				case <-ready:
					ready = nil
					select {
					case s.events <- event{folder: f, settled: true}:
					case <-s.ctx.Done():
						return
					}
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

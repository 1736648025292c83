package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchet-tasks/ratchet-registry/registry/registrytest"
)

// seedTasksQuery is the seed's own tasks query (httpapi's BenchmarkTasksQuery),
// the one the "first tasks query" row of issue 13's table was measured with.
const seedTasksQuery = "{ tasks { id version label description availableVersions } }"

const pageQuery = "{ taskPage(first: 50) { nodes { id version label description availableVersions } totalCount pageInfo { hasNextPage endCursor } } }"

// scaleDeadline bounds every wait of the serve benchmark: generous, since
// at 100,000 tasks a load takes most of a minute and a poll round longer,
// but a hung server still ends the run.
const scaleDeadline = 30 * time.Minute

// scaleBaseline is what the serve rows are measured against, in the same run.
type scaleBaseline struct {
	tasks     int
	fileBytes int64         // every file of the tree
	bare      time.Duration // reading them once
	validate  time.Duration // `validate DIR`; zero when its sub-benchmark did not run
	idleRSS   int64         // `serve` of no task, ready; zero when its sub-benchmark did not run
}

// BenchmarkServeScale reports the serve-level rows of issue 13's table on a
// generated catalogue of RATCHET_BENCH_TASKS tasks (`task bench-serve`;
// unset, it skips), each against a bare read of the same files in the
// same run: `validate` and `serve` as processes of their own (their time,
// peak and resident memory), the first queries and index, and save to
// visible through the change feed, in watch mode auto, in mode poll and
// in mode poll with the whole machine to poll with (watch.poll_cpu: 1).
func BenchmarkServeScale(b *testing.B) {
	n := registrytest.ScaleSize(b, "bench-serve")
	saves := 20
	if v := os.Getenv("RATCHET_BENCH_SAVES"); v != "" {
		var err error
		if saves, err = strconv.Atoi(v); err != nil || saves <= 0 {
			b.Fatalf("RATCHET_BENCH_SAVES=%q: want a number of saves", v)
		}
	}
	dir := registrytest.ScaleTree(b, n)
	base := scaleBaseline{tasks: n}
	// Once to bring the tree into the page cache, as it is for every
	// step after; the second read is the baseline.
	registrytest.BareRead(b, dir)
	start := time.Now()
	base.fileBytes = registrytest.BareRead(b, dir)
	base.bare = time.Since(start)

	b.Run(fmt.Sprintf("validate/tasks=%d", n), func(b *testing.B) {
		for b.Loop() {
			waitQuiet(b)
			wall, cpu, peak := validateProcess(b, dir, n)
			base.validate = wall
			b.ReportMetric(base.bare.Seconds(), "bare-s")
			b.ReportMetric(wall.Seconds(), "validate-s")
			b.ReportMetric(wall.Seconds()/base.bare.Seconds(), "validate/bare")
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores-used")
			b.ReportMetric(float64(peak)/1e6, "peak-rss-MB")
		}
	})
	b.Run("idle", func(b *testing.B) {
		for b.Loop() {
			_, cmd, _ := readyProcess(b, "auto", b.TempDir())
			base.idleRSS = procStatusBytes(b, cmd.Process.Pid, "VmRSS")
			b.ReportMetric(float64(base.idleRSS)/1e6, "rss-MB")
		}
	})
	for _, mode := range []string{"auto", "poll", "poll-cpu=1"} {
		b.Run(fmt.Sprintf("mode=%s/tasks=%d", mode, n), func(b *testing.B) {
			for b.Loop() {
				serveScale(b, dir, mode, base, saves)
			}
		})
	}
}

// validateProcess runs `validate DIR` as a process of its own and returns
// its wall time, its CPU time and its peak resident memory.
func validateProcess(b *testing.B, dir string, n int) (wall, cpu time.Duration, peak int64) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "validate", dir)
	cmd.Env = append(os.Environ(), asProgram+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("validate %s: %v\n%s", dir, err, tail(out.String()))
	}
	wall = time.Since(start)
	if want := fmt.Sprintf("%d tasks, %d versions valid; 0 problems", n, n); !strings.Contains(out.String(), want) {
		b.Fatalf("validate %s: got %q, want %q", dir, tail(out.String()), want)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), ru.Maxrss << 10 // Linux counts kB
}

// serveScale runs `serve` on the tree in one watch mode and reports its
// rows.
func serveScale(b *testing.B, dir, mode string, base scaleBaseline, saves int) {
	b.Helper()
	saver := &scaleSaver{dir: dir, originals: map[string][]byte{}}
	b.Cleanup(func() { saver.restore(b) }) // registered first: runs once the server has stopped

	waitQuiet(b)
	start := time.Now()
	p, cmd, readyAt := readyProcess(b, mode, dir)
	ready := readyAt.Sub(start)
	rssReady := procStatusBytes(b, cmd.Process.Pid, "VmRSS")
	events := subscribe(b, p.url)
	// A save made as soon as the server is ready: it shows once the
	// watcher has set up, which it does after the load.
	id, at := saver.save(b, rand.IntN(base.tasks))
	firstSave := events.await(b, id, at)
	live := at.Add(firstSave).Sub(start)
	// Memory once loaded and watched, after the server has handed the
	// setup's garbage back too (it logs so).
	eventually(b, scaleDeadline, func() bool { return strings.Contains(p.logs.String(), "watching: every save shows") })
	rss := procStatusBytes(b, cmd.Process.Pid, "VmRSS")

	tasksTime, tasksAnswer := timedPost(b, p.url, seedTasksQuery)
	var tasks struct {
		Data struct{ Tasks []struct{ ID string } }
	}
	if err := json.Unmarshal(tasksAnswer, &tasks); err != nil || len(tasks.Data.Tasks) != base.tasks {
		b.Fatalf("tasks: got %d tasks (%v), want %d: %.200s", len(tasks.Data.Tasks), err, base.tasks, tasksAnswer)
	}
	pageTime, pageAnswer := timedPost(b, p.url, pageQuery)
	var page struct {
		Data struct {
			TaskPage struct{ Nodes []struct{ ID string } }
		}
	}
	if err := json.Unmarshal(pageAnswer, &page); err != nil || len(page.Data.TaskPage.Nodes) != min(50, base.tasks) {
		b.Fatalf("taskPage: got %d tasks (%v), want %d: %.200s", len(page.Data.TaskPage.Nodes), err, min(50, base.tasks), pageAnswer)
	}
	indexTime, _ := timedGet(b, p.url+"/v1/index.json")
	saveVisible := func() time.Duration {
		id, at := saver.save(b, rand.IntN(base.tasks))
		return events.await(b, id, at)
	}
	saveVisible()
	indexAfterSave, _ := timedGet(b, p.url+"/v1/index.json")

	// Each save at a random moment, so that in poll mode the saves fall
	// anywhere in the poll's period rather than in step with it.
	visible := make([]time.Duration, saves)
	for i := range visible {
		select {
		case <-time.After(rand.N(time.Second)):
		case <-b.Context().Done():
			b.Fatal(b.Context().Err())
		}
		visible[i] = saveVisible()
	}
	slices.Sort(visible)
	// An author at work: a few saves of one task, then the next. The
	// first save of each is a task untouched for long, as above; the
	// others show as the task is being worked on.
	var session, again []time.Duration
	for range max(saves/5, 1) {
		task := rand.IntN(base.tasks)
		for i := range 5 {
			select {
			case <-time.After(rand.N(time.Second)):
			case <-b.Context().Done():
				b.Fatal(b.Context().Err())
			}
			id, at := saver.save(b, task)
			d := events.await(b, id, at)
			session = append(session, d)
			if i > 0 {
				again = append(again, d)
			}
		}
	}
	slices.Sort(session)
	slices.Sort(again)
	var round struct {
		Data struct {
			Sources []struct {
				Watch struct{ PollRoundSeconds float64 }
			}
		}
	}
	if _, answer := timedPost(b, p.url, "{ sources { watch { pollRoundSeconds } } }"); json.Unmarshal(answer, &round) != nil || len(round.Data.Sources) != 1 {
		b.Fatalf("sources: %.200s", answer)
	}
	rssAfter := procStatusBytes(b, cmd.Process.Pid, "VmRSS")

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	n := float64(base.tasks)
	b.ReportMetric(base.bare.Seconds(), "bare-s")
	b.ReportMetric(ready.Seconds(), "ready-s")
	b.ReportMetric(ready.Seconds()/base.bare.Seconds(), "ready/bare")
	if base.validate > 0 {
		b.ReportMetric(ready.Seconds()/base.validate.Seconds(), "ready/validate")
	}
	b.ReportMetric(ms(firstSave), "first-save-ms")
	b.ReportMetric(live.Seconds(), "live-s")
	b.ReportMetric(float64(rssReady)/1e6, "rss-ready-MB")
	b.ReportMetric(float64(rss)/1e6, "rss-MB")
	b.ReportMetric(float64(rss)/n, "rss-B/task")
	if base.idleRSS > 0 {
		b.ReportMetric(float64(rss-base.idleRSS-base.fileBytes)/n, "rss-beyond-files-B/task")
	}
	b.ReportMetric(float64(rssAfter)/1e6, "rss-after-queries-MB")
	b.ReportMetric(ms(tasksTime), "tasks-ms")
	b.ReportMetric(float64(len(tasksAnswer))/1e6, "tasks-MB")
	b.ReportMetric(ms(pageTime), "page-ms")
	b.ReportMetric(ms(indexTime), "index-ms")
	b.ReportMetric(ms(indexAfterSave), "index-after-save-ms")
	b.ReportMetric(ms(visible[len(visible)/2]), "save-p50-ms")
	b.ReportMetric(ms(visible[len(visible)-1]), "save-max-ms")
	b.ReportMetric(ms(session[len(session)/2]), "author-p50-ms")
	b.ReportMetric(ms(again[len(again)/2]), "again-p50-ms")
	b.ReportMetric(ms(again[len(again)-1]), "again-max-ms")
	b.ReportMetric(round.Data.Sources[0].Watch.PollRoundSeconds, "poll-round-s")
}

// readyProcess starts `serve` on dir in a watch mode, with a cache of its
// own and tests off (a test runner busy with the whole catalogue would be
// measured along), and waits until it is ready.
// A mode of "poll-cpu=1" is mode poll with watch.poll_cpu: 1.
func readyProcess(b *testing.B, mode, dir string) (*program, *exec.Cmd, time.Time) {
	b.Helper()
	cfg := filepath.Join(b.TempDir(), "config.yaml")
	share := "0.25"
	if m, ok := strings.CutSuffix(mode, "-cpu=1"); ok {
		mode, share = m, "1"
	}
	yaml := fmt.Sprintf("watch:\n  mode: %s\n  poll_cpu: %s\ntests:\n  enabled: false\nregistry:\n  cache_dir: %s\n", mode, share, b.TempDir())
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		b.Fatal(err)
	}
	p, cmd := startProcess(b, "--config", cfg, dir)
	eventually(b, scaleDeadline, func() bool { return statusOf(p.url+"/readyz") == http.StatusOK })
	readyAt := time.Now()
	// Memory is measured once the server has handed the load's garbage
	// back, which it logs just after it turns ready.
	eventually(b, scaleDeadline, func() bool { return strings.Contains(p.logs.String(), "msg=ready") })
	return p, cmd, readyAt
}

// scaleSaver saves tasks of the tree with a new label each time and puts
// every file it changed back at the end, so that later runs find the
// tree as it was written.
type scaleSaver struct {
	dir       string
	originals map[string][]byte // path: content before the first save
	count     int
}

// save writes task i's metadata.json with a new label and returns the
// task's id and the moment of the write.
func (s *scaleSaver) save(b *testing.B, i int) (string, time.Time) {
	b.Helper()
	rel, id := registrytest.ScaleTask(i)
	p := filepath.Join(s.dir, rel, "metadata.json")
	if _, ok := s.originals[p]; !ok {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		s.originals[p] = data
	}
	s.count++
	meta := registrytest.Task(id, "1.0.0")["metadata.json"]
	meta = strings.Replace(meta, `"label": "Task 1.0.0"`, fmt.Sprintf(`"label": "Task 1.0.0, save %d"`, s.count), 1)
	at := time.Now()
	if err := os.WriteFile(p, []byte(meta), 0o644); err != nil {
		b.Fatal(err)
	}
	return id, at
}

func (s *scaleSaver) restore(b *testing.B) {
	for p, data := range s.originals {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Error(err)
		}
	}
}

// changeFeed is the server's change feed, read over SSE as a client would.
type changeFeed struct {
	events chan feedEvent
	done   chan error // the reader's end
}

type feedEvent struct {
	kind, id string
	at       time.Time
}

// subscribe opens the change feed; the stream is closed and its reader
// stopped at the end of the benchmark.
func subscribe(b *testing.B, url string) *changeFeed {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	body, _ := json.Marshal(map[string]string{"query": "subscription { registryEvents { kind id } }"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		b.Fatalf("subscribe: status %d", resp.StatusCode)
	}
	f := &changeFeed{events: make(chan feedEvent, 64), done: make(chan error, 1)}
	go func() {
		defer resp.Body.Close()
		f.done <- f.read(ctx, resp.Body)
	}()
	b.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

// read passes on each event of the stream with the moment it arrived.
func (f *changeFeed) read(ctx context.Context, body io.Reader) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		at := time.Now()
		var ev struct {
			Data struct {
				RegistryEvents struct{ Kind, ID string }
			}
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			return fmt.Errorf("event %q: %w", data, err)
		}
		select {
		case f.events <- feedEvent{kind: ev.Data.RegistryEvents.Kind, id: ev.Data.RegistryEvents.ID, at: at}:
		case <-ctx.Done():
			return nil
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("the change feed ended: %v", sc.Err())
}

// await waits for the feed to report the task updated and returns the
// time from the save to the event.
func (f *changeFeed) await(b *testing.B, id string, saved time.Time) time.Duration {
	b.Helper()
	deadline := time.After(scaleDeadline)
	for {
		select {
		case ev := <-f.events:
			if ev.id == id && ev.kind == "TASK_UPDATED" {
				return ev.at.Sub(saved)
			}
		case err := <-f.done:
			f.done <- err // for the cleanup
			b.Fatalf("waiting for task %s: %v", id, err)
		case <-deadline:
			b.Fatalf("task %s saved, but no event within %s", id, scaleDeadline)
		}
	}
}

// timedPost sends a GraphQL query and returns its time and answer, failing
// on anything but a 200 without errors.
func timedPost(b *testing.B, url, query string) (time.Duration, []byte) {
	b.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	start := time.Now()
	resp, err := http.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	took, data := timedAnswer(b, start, resp)
	var out struct{ Errors []any }
	if err := json.Unmarshal(data, &out); err != nil || out.Errors != nil {
		b.Fatalf("%s: %v %.300s", query, err, data)
	}
	return took, data
}

func timedGet(b *testing.B, url string) (time.Duration, []byte) {
	b.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	return timedAnswer(b, start, resp)
}

// timedAnswer reads a whole answer: its time runs to the last byte.
func timedAnswer(b *testing.B, start time.Time, resp *http.Response) (time.Duration, []byte) {
	b.Helper()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: status %d: %.300s", resp.Request.Method, resp.Request.URL, resp.StatusCode, data)
	}
	return took, data
}

// statusOf is the status of a GET, 0 when there is no answer.
func statusOf(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitQuiet waits, for up to a minute, until the machine has been idle
// for a second (9 in 10 of its CPU time), so that what an earlier step
// left running (a server's exit, the kernel freeing 200,000 inotify
// marks) is not measured in the next. It reports how long it waited.
func waitQuiet(b *testing.B) {
	b.Helper()
	idle := func() (idle, total uint64) {
		data, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0
		}
		line, _, _ := strings.Cut(string(data), "\n") // cpu  user nice system idle iowait ...
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseUint(f, 10, 64)
			total += v
			if i == 3 || i == 4 {
				idle += v
			}
		}
		return idle, total
	}
	start := time.Now()
	for time.Since(start) < time.Minute {
		i0, t0 := idle()
		time.Sleep(time.Second)
		i1, t1 := idle()
		if t1 == t0 || float64(i1-i0)/float64(t1-t0) >= 0.9 {
			break
		}
	}
	b.Logf("waited %s for a quiet machine", time.Since(start).Round(time.Second))
}

package registry

// ApplyEvents applies u as Apply does and returns the events it published,
// for the tests that load tasks through the task format, outside the package.
func (r *Registry) ApplyEvents(u Update) []Event {
	_, _, events := r.apply(u)
	return events
}

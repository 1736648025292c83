package schema

// Page sizes of taskPage.
const (
	defaultPage = 50
	maxPage     = 1000
)

package agent

// RetentionStore is the retention job's view of the vault, for tests that
// wrap it (WithRetentionStore).
type RetentionStore = retentionStore

// WithRetentionStore wraps the vault the retention job uses: tests inject
// failures with it.
func WithRetentionStore(wrap func(RetentionStore) RetentionStore) Option {
	return func(o *options) { o.wrapRetention = wrap }
}

// Package vault is voxward's encrypted store: a bbolt file in which every
// value is sealed under a per-subject data key, so that erasing a subject is
// destroying its key.
package vault

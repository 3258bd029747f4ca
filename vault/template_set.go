package vault

// SetTemplate makes tpl the subject's only template: the ones it held are
// deleted and tpl stored in one transaction, so that a voiceprint updated
// with new enrolment samples replaces the old one instead of piling up
// beside it (data minimisation). The embedding is copied. Errors as
// AddTemplate: ErrNotFound, ErrInvalid (bad dimension, NaN, a subject not
// active), ErrFull. It returns the stored template and how many it
// replaced.
func (s *Store) SetTemplate(a Actor, subject ID, tpl Template) (Template, int, error) {
	return s.storeTemplate(a, "template.set", subject, tpl, true)
}

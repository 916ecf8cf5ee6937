package postgres

// SetPINChecker replaces the bcrypt comparison of s, so tests can count comparisons.
func SetPINChecker(s *Store, check func(hash, pin string) bool) { s.checker = check }

package postgres

// SetPINChecker replaces the bcrypt comparison of s, so tests can count comparisons.
func SetPINChecker(s *Store, check func(hash, pin string) bool) { s.checker = check }

// SetCandidatesRead makes a's assignment rounds run f between reading the waiting calls and
// offering them.
func SetCandidatesRead(a *ACD, f func()) { a.candidatesRead = f }

// CallCloseQuery is the statement that closes the open calls on the channels of new calls.
const CallCloseQuery = callClose

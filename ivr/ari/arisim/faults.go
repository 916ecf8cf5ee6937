package arisim

// LoseEvents makes the simulator lose the next n deliveries of events of type typ (RecordingFinished,
// PlaybackFinished …) on their way to every application, as a dropped frame or an Asterisk
// bug would: for testing what a controller does when an event it waits for never comes.
// n ≤ 0 stops losing events of that type.
func (s *Sim) LoseEvents(typ string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.lose, typ)
		return
	}
	if s.lose == nil {
		s.lose = map[string]int{}
	}
	s.lose[typ] = n
}

// lost reports whether e is to be lost, counting it; called with s.mu held.
func (s *Sim) lost(e *ev) bool {
	n := s.lose[e.typ]
	if n <= 0 {
		return false
	}
	if n == 1 {
		delete(s.lose, e.typ)
	} else {
		s.lose[e.typ] = n - 1
	}
	return true
}

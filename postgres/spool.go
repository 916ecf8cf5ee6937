package postgres

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/foshan-hotline/hotline"
)

// spoolName is the call log's overflow file in its spool directory.
const spoolName = "calllog.spool"

// spool is the call log's overflow on disk: records appended as JSON lines when memory is
// full, read back in the same order, and the file emptied once all are read. It is not safe
// for concurrent use (the queue's lock guards it).
type spool struct {
	path string
	f    *os.File
	read int64 // offset of the next record to read
	size int64 // bytes written
	n    int64 // records written and not yet read
}

// spoolRecord is one record as stored on disk.
type spoolRecord struct {
	Kind  itemKind            `json:"k"`
	Start *hotline.CallRecord `json:"c,omitempty"`
	Step  *hotline.CallStep   `json:"s,omitempty"`
	End   *hotline.CallEnd    `json:"e,omitempty"`
	Rec   *hotline.Recording  `json:"r,omitempty"`
}

// openSpool opens (creating) the spool file in dir. Records left there by an earlier
// process are counted so they are replayed first.
func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("call log spool: %w", err)
	}
	path := filepath.Join(dir, spoolName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("call log spool: %w", err)
	}
	s := &spool{path: path, f: f}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("call log spool: %w", err)
	}
	s.size = size
	if size > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("call log spool: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			s.n++
		}
	}
	return s, nil
}

// append writes one record at the end of the file.
func (s *spool) append(it logItem) error {
	rec := spoolRecord{Kind: it.kind}
	switch it.kind {
	case itemStart:
		rec.Start = &it.start
	case itemStep:
		rec.Step = &it.step
	case itemEnd:
		rec.End = &it.end
	case itemRecording:
		rec.Rec = it.rec
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("call log spool: %w", err)
	}
	line = append(line, '\n')
	if _, err := s.f.WriteAt(line, s.size); err != nil {
		return fmt.Errorf("call log spool: %w", err)
	}
	s.size += int64(len(line))
	s.n++
	return nil
}

// take reads up to max records from where the last read stopped; when all are read the
// file is emptied.
func (s *spool) take(max int) ([]logItem, error) {
	if s.n == 0 {
		return nil, nil
	}
	sec := io.NewSectionReader(s.f, s.read, s.size-s.read)
	r := bufio.NewReaderSize(sec, 64<<10)
	var items []logItem
	for len(items) < max && s.n > 0 {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return items, fmt.Errorf("call log spool: %w", err)
		}
		s.read += int64(len(line))
		s.n--
		var rec spoolRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			continue // a torn last line of a crashed process
		}
		it := logItem{kind: rec.Kind}
		switch {
		case rec.Start != nil:
			it.start = *rec.Start
		case rec.Step != nil:
			it.step = *rec.Step
		case rec.End != nil:
			it.end = *rec.End
		case rec.Rec != nil:
			it.rec = rec.Rec
		default:
			continue
		}
		items = append(items, it)
	}
	if s.n == 0 {
		if err := s.f.Truncate(0); err != nil {
			return items, fmt.Errorf("call log spool: %w", err)
		}
		s.read, s.size = 0, 0
	}
	return items, nil
}

func (s *spool) close() error { return s.f.Close() }

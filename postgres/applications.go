package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

const applicationColumns = `
	a.id, a.case_number, a.item_id, i.name AS item_name, a.citizen_id, a.department_id,
	d.name AS department_name, a.status, a.submitted_at, a.updated_at`

// The application and its history come in one round trip: one row per event, the
// application's columns repeated (a handful of rows at most).
const applicationByCaseNumberQuery = `SELECT` + applicationColumns + `,
	e.seq AS event_seq, e.status AS event_status, e.at AS event_at, e.note AS event_note
	FROM platform.applications a
	JOIN platform.service_items i ON i.id = a.item_id
	JOIN platform.departments d ON d.id = a.department_id
	LEFT JOIN platform.application_events e ON e.application_id = a.id
	WHERE a.case_number = $1
	ORDER BY e.seq`

const applicationsOfCitizenQuery = `SELECT` + applicationColumns + `
	FROM platform.applications a
	JOIN platform.service_items i ON i.id = a.item_id
	JOIN platform.departments d ON d.id = a.department_id
	WHERE a.citizen_id = $1
	ORDER BY a.submitted_at DESC, a.id DESC
	LIMIT $2`

const applicationEventsQuery = `
	SELECT application_id, seq, status, at, note
	FROM platform.application_events
	WHERE application_id = ANY($1)
	ORDER BY application_id, seq`

// applicationEventRow is one row of applicationByCaseNumberQuery; the event columns are NULL
// for an application without history.
type applicationEventRow struct {
	hotline.Application
	EventSeq    *int                       `db:"event_seq"`
	EventStatus *hotline.ApplicationStatus `db:"event_status"`
	EventAt     *time.Time                 `db:"event_at"`
	EventNote   *string                    `db:"event_note"`
}

// ApplicationByCaseNumber returns the application (办件) with a case number (受理编号), with
// its status history in order.
func (s *Store) ApplicationByCaseNumber(ctx context.Context, caseNumber string) (*hotline.Application, error) {
	var rows []applicationEventRow
	if err := s.list(ctx, "application by case number", &rows, applicationByCaseNumberQuery, caseNumber); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("application by case number: %w", hotline.ErrNotFound)
	}
	a := rows[0].Application
	a.History = make([]hotline.ApplicationEvent, 0, len(rows))
	for _, r := range rows {
		if r.EventSeq == nil {
			continue
		}
		a.History = append(a.History, hotline.ApplicationEvent{
			Seq: *r.EventSeq, Status: *r.EventStatus, At: *r.EventAt, Note: *r.EventNote,
		})
	}
	return &a, nil
}

// ApplicationsOfCitizen returns a citizen's latest applications, most recently submitted
// first, at most limit of them, each with its status history. A citizen without applications,
// or an unknown citizen, has an empty list.
func (s *Store) ApplicationsOfCitizen(ctx context.Context, citizenID int64, limit int) ([]hotline.Application, error) {
	what := fmt.Sprintf("applications of citizen %d", citizenID)
	if limit <= 0 {
		return nil, fmt.Errorf("%s: limit must be positive, got %d", what, limit)
	}
	apps := make([]hotline.Application, 0, min(limit, 16))
	if err := s.list(ctx, what, &apps, applicationsOfCitizenQuery, citizenID, limit); err != nil {
		return nil, err
	}
	if len(apps) == 0 {
		return apps, nil
	}
	ids := make([]int64, len(apps))
	index := make(map[int64]*hotline.Application, len(apps))
	for i := range apps {
		ids[i] = apps[i].ID
		apps[i].History = []hotline.ApplicationEvent{}
		index[apps[i].ID] = &apps[i]
	}
	var events []struct {
		ApplicationID int64 `db:"application_id"`
		hotline.ApplicationEvent
	}
	if err := s.list(ctx, what+": history", &events, applicationEventsQuery, pq.Array(ids)); err != nil {
		return nil, err
	}
	for _, e := range events {
		a := index[e.ApplicationID]
		a.History = append(a.History, e.ApplicationEvent)
	}
	return apps, nil
}

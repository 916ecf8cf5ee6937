package agentdesk

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// reportRoutes are the supervisors' reports; the definitions of the figures are in
// openapi/reports.yaml, README and on the page.
func (s *Server) reportRoutes() []route {
	return []route{
		{"GET /api/reports/queues", hotline.RoleSupervisor, s.queueReport},
		{"GET /api/reports/agents", hotline.RoleSupervisor, s.agentReport},
		{"GET /api/reports/ivr", hotline.RoleSupervisor, s.ivrReport},
		{"GET /api/reports/satisfaction", hotline.RoleSupervisor, s.satisfactionReport},
		{"GET /api/reports/work-orders", hotline.RoleSupervisor, s.workOrderReport},
	}
}

// maxReportDays bounds a report's range.
const maxReportDays = 366

// chinaZone is the hotline's time zone: report days and buckets are in it.
var chinaZone = time.FixedZone("CST", 8*3600)

// reportQuery reads from and to (days, YYYY-MM-DD, both included), bucket, queue and agent_id.
func reportQuery(r *http.Request) (postgres.ReportQuery, error) {
	q := r.URL.Query()
	var rq postgres.ReportQuery
	day := func(name string) (time.Time, error) {
		v := q.Get(name)
		t, err := time.ParseInLocation(time.DateOnly, v, chinaZone)
		if err != nil {
			return t, badRequest("%s must be a day like 2026-12-01, got %q", name, v)
		}
		return t, nil
	}
	from, err := day("from")
	if err != nil {
		return rq, err
	}
	to, err := day("to")
	if err != nil {
		return rq, err
	}
	if to.Before(from) {
		return rq, badRequest("to (%s) is before from (%s)", q.Get("to"), q.Get("from"))
	}
	if to.Sub(from) > maxReportDays*24*time.Hour {
		return rq, badRequest("a report covers at most %d days", maxReportDays)
	}
	rq.From, rq.To = from, to.AddDate(0, 0, 1)
	rq.Bucket = postgres.Bucket(q.Get("bucket"))
	if rq.Bucket == "" {
		rq.Bucket = postgres.BucketDay
	}
	switch rq.Bucket {
	case postgres.Bucket15Min, postgres.BucketHour, postgres.BucketDay, postgres.BucketWeek:
	default:
		return rq, badRequest("bucket must be 15m, hour, day or week, got %q", rq.Bucket)
	}
	if rq.Bucket == postgres.Bucket15Min && rq.To.Sub(rq.From) > 31*24*time.Hour {
		return rq, badRequest("15-minute buckets cover at most 31 days")
	}
	rq.Queue = q.Get("queue")
	if v := q.Get("agent_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return rq, badRequest("agent_id must be an agent id, got %q", v)
		}
		rq.AgentID = id
	}
	return rq, nil
}

// reportRollUpEvery and reportRollUpBudget bound the roll-up a report request runs on
// demand: at most once in so long across the instances, and no longer than so long (the
// housekeeping job runs it too, hourly; an unfinished run is rolled back and changes nothing).
const (
	reportRollUpEvery  = 5 * time.Minute
	reportRollUpBudget = time.Second
)

// freshenReports brings the reports' roll-ups up to date on demand before a report is read:
// days closed or changed by late rows since the last run. The figures are the same either
// way; it only spares the following reports computing those days from the event rows.
func (s *Server) freshenReports(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, reportRollUpBudget)
	defer cancel()
	if r, err := postgres.RollUpReportsIfDue(ctx, s.o.DB, reportRollUpEvery); err != nil && ctx.Err() == nil {
		s.log.Warn("report roll-ups", "err", err)
	} else if r.Days > 0 {
		s.log.Info("report roll-ups", "days", r.Days, "upto", r.Upto.Format(time.DateOnly))
	}
}

// wantCSV reports whether the request asks for format=csv; another format is an error.
func wantCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	default:
		return false, badRequest("format must be json or csv, got %q", f)
	}
}

// writeCSV writes a table for spreadsheets: UTF-8 with a byte order mark, Chinese headers.
func writeCSV(w http.ResponseWriter, name string, header []string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write(header)
	cw.WriteAll(rows)
}

func num(f *float64, digits int) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', digits, 64)
}

// queueReport is GET /api/reports/queues.
func (s *Server) queueReport(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	rq, err := reportQuery(r)
	if err != nil {
		return err
	}
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	s.freshenReports(r.Context())
	rows, err := postgres.QueueReport(r.Context(), s.o.DB, rq)
	if err != nil {
		return err
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, map[string]any{"bucket": rq.Bucket, "rows": nonNil(rows)})
		return nil
	}
	out := make([][]string, len(rows))
	for i, f := range rows {
		out[i] = []string{f.Bucket.In(chinaZone).Format("2006-01-02 15:04"), f.QueueID, strconv.Itoa(f.Offered),
			strconv.Itoa(f.Answered), strconv.Itoa(f.AnsweredIn15s), strconv.Itoa(f.Abandoned), strconv.Itoa(f.ShortAbandoned),
			num(f.ServiceLevel, 4), num(f.ServiceLevelAnsweredAbandoned, 4), num(f.ASA, 1), num(f.AHT, 1), num(f.Talk, 1),
			num(f.Hold, 1), num(f.Wrap, 1), strconv.Itoa(f.Transfers), strconv.Itoa(f.CallbacksRequested), strconv.Itoa(f.CallbacksCompleted)}
	}
	writeCSV(w, "queues", []string{"时段", "队列", "呼入量", "接通量", "15秒内接通", "放弃量", "其中5秒内放弃",
		"服务水平(15秒接通/呼入)", "服务水平(15秒接通/接通+5秒后放弃)", "平均应答时长(秒)", "平均处理时长(秒)",
		"平均通话(秒)", "平均保持(秒)", "平均话后(秒)", "转接数", "预约回拨", "回拨完成"}, out)
	return nil
}

// agentReport is GET /api/reports/agents.
func (s *Server) agentReport(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	rq, err := reportQuery(r)
	if err != nil {
		return err
	}
	asCSV, err := wantCSV(r)
	if err != nil {
		return err
	}
	s.freshenReports(r.Context())
	rows, err := postgres.AgentReport(r.Context(), s.o.DB, rq)
	if err != nil {
		return err
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, map[string]any{"rows": nonNil(rows)})
		return nil
	}
	states := []hotline.AgentState{hotline.AgentAvailable, hotline.AgentRinging, hotline.AgentTalking, hotline.AgentWrapUp,
		hotline.AgentPaused, hotline.AgentMissed}
	out := make([][]string, len(rows))
	for i, f := range rows {
		row := []string{f.DisplayName, strconv.Itoa(f.Answered), num(f.AHT, 1), num(f.Talk, 1), num(f.Hold, 1),
			num(f.Wrap, 1), strconv.Itoa(f.Transfers), strconv.Itoa(f.Missed), strconv.Itoa(f.Surveyed), strconv.Itoa(f.Satisfied)}
		for _, st := range states {
			row = append(row, strconv.FormatFloat(f.States[string(st)], 'f', 0, 64))
		}
		out[i] = row
	}
	writeCSV(w, "agents", []string{"坐席", "接听量", "平均处理时长(秒)", "平均通话(秒)", "平均保持(秒)", "平均话后(秒)",
		"转接数", "未接", "评价数", "满意数", "空闲(秒)", "振铃(秒)", "通话(秒)", "话后处理(秒)", "小休等示忙(秒)", "未接状态(秒)"}, out)
	return nil
}

// rowsReport answers a report of rows over the request's days.
func rowsReport[T any](s *Server, w http.ResponseWriter, r *http.Request,
	read func(context.Context, *sqlx.DB, postgres.ReportQuery) ([]T, error)) error {
	rq, err := reportQuery(r)
	if err != nil {
		return err
	}
	s.freshenReports(r.Context())
	rows, err := read(r.Context(), s.o.DB, rq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"rows": nonNil(rows)})
	return nil
}

// ivrReport is GET /api/reports/ivr: the containment funnel per flow.
func (s *Server) ivrReport(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	return rowsReport(s, w, r, postgres.IVRFunnel)
}

// satisfactionReport is GET /api/reports/satisfaction.
func (s *Server) satisfactionReport(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	return rowsReport(s, w, r, postgres.Satisfaction)
}

// workOrderReport is GET /api/reports/work-orders: work orders on time per category and
// department.
func (s *Server) workOrderReport(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	return rowsReport(s, w, r, postgres.WorkOrderTimeliness)
}

// nonNil turns a nil slice into an empty one, so that JSON says [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

const serviceItemColumns = `
	i.id, i.code, i.name, i.department_id, d.name AS department_name, i.category,
	i.materials, i.fee_fen, i.time_limit_days, i.keywords, i.description`

const serviceItemsQuery = `SELECT` + serviceItemColumns + `
	FROM platform.service_items i
	JOIN platform.departments d ON d.id = i.department_id
	ORDER BY i.id`

const serviceItemByIDQuery = `SELECT` + serviceItemColumns + `
	FROM platform.service_items i
	JOIN platform.departments d ON d.id = i.department_id
	WHERE i.id = $1`

const serviceItemByCodeQuery = `SELECT` + serviceItemColumns + `
	FROM platform.service_items i
	JOIN platform.departments d ON d.id = i.department_id
	WHERE i.code = $1`

// The catalogue is small (tens of items), so a scan is the right plan. $1 is the keyword as
// given, $2 the same as a LIKE pattern with its wildcards escaped. Best matches first: the
// exact name, then a name containing the keyword, then a keyword entry, then the category.
const searchServiceItemsQuery = `SELECT` + serviceItemColumns + `
	FROM platform.service_items i
	JOIN platform.departments d ON d.id = i.department_id
	WHERE i.name ILIKE $2
	   OR i.category ILIKE $2
	   OR EXISTS (SELECT 1 FROM unnest(i.keywords) k WHERE k ILIKE $2 OR (k <> '' AND $1 ILIKE '%' || k || '%'))
	ORDER BY CASE
	           WHEN i.name = $1 THEN 0
	           WHEN i.name ILIKE $2 THEN 1
	           WHEN $1 = ANY(i.keywords) THEN 2
	           WHEN i.category ILIKE $2 THEN 4
	           ELSE 3
	         END,
	         i.id
	LIMIT $3`

const departmentsQuery = `
	SELECT id, name, phone
	FROM platform.departments
	ORDER BY id`

const departmentByIDQuery = `
	SELECT id, name, phone
	FROM platform.departments
	WHERE id = $1`

// serviceItemRow scans the array columns hotline.ServiceItem leaves to its callers.
type serviceItemRow struct {
	hotline.ServiceItem
	Materials pq.StringArray `db:"materials"`
	Keywords  pq.StringArray `db:"keywords"`
}

func (r serviceItemRow) item() hotline.ServiceItem {
	it := r.ServiceItem
	it.Materials = []string(r.Materials)
	it.Keywords = []string(r.Keywords)
	if it.Materials == nil {
		it.Materials = []string{}
	}
	if it.Keywords == nil {
		it.Keywords = []string{}
	}
	return it
}

func items(rows []serviceItemRow) []hotline.ServiceItem {
	out := make([]hotline.ServiceItem, len(rows))
	for i, r := range rows {
		out[i] = r.item()
	}
	return out
}

// ServiceItems returns the whole service catalogue (办事指南) in catalogue (id) order.
func (s *Store) ServiceItems(ctx context.Context) ([]hotline.ServiceItem, error) {
	var rows []serviceItemRow
	if err := s.list(ctx, "service items", &rows, serviceItemsQuery); err != nil {
		return nil, err
	}
	return items(rows), nil
}

// SearchServiceItems returns at most limit service items whose name or category contains
// keyword, or one of whose keywords contains it or is contained in it (so "我要办营业执照"
// finds the item with keyword "营业执照"); best matches first. A blank keyword or no match
// gives an empty list.
func (s *Store) SearchServiceItems(ctx context.Context, keyword string, limit int) ([]hotline.ServiceItem, error) {
	keyword = strings.TrimSpace(keyword)
	if limit <= 0 {
		return nil, fmt.Errorf("search service items: limit must be positive, got %d", limit)
	}
	if keyword == "" {
		return []hotline.ServiceItem{}, nil
	}
	var rows []serviceItemRow
	if err := s.list(ctx, "search service items", &rows, searchServiceItemsQuery, keyword, "%"+escapeLike(keyword)+"%", limit); err != nil {
		return nil, err
	}
	return items(rows), nil
}

// ServiceItem returns the service item with the platform id.
func (s *Store) ServiceItem(ctx context.Context, id int) (*hotline.ServiceItem, error) {
	var r serviceItemRow
	if err := s.get(ctx, fmt.Sprintf("service item %d", id), &r, serviceItemByIDQuery, id); err != nil {
		return nil, err
	}
	it := r.item()
	return &it, nil
}

// ServiceItemByCode returns the service item with a catalogue code.
func (s *Store) ServiceItemByCode(ctx context.Context, code string) (*hotline.ServiceItem, error) {
	var r serviceItemRow
	if err := s.get(ctx, fmt.Sprintf("service item %q", code), &r, serviceItemByCodeQuery, code); err != nil {
		return nil, err
	}
	it := r.item()
	return &it, nil
}

// Departments returns every department, by id.
func (s *Store) Departments(ctx context.Context) ([]hotline.Department, error) {
	deps := make([]hotline.Department, 0, 32)
	if err := s.list(ctx, "departments", &deps, departmentsQuery); err != nil {
		return nil, err
	}
	return deps, nil
}

// Department returns the department with the platform id.
func (s *Store) Department(ctx context.Context, id int) (*hotline.Department, error) {
	var d hotline.Department
	if err := s.get(ctx, fmt.Sprintf("department %d", id), &d, departmentByIDQuery, id); err != nil {
		return nil, err
	}
	return &d, nil
}

// escapeLike escapes the LIKE wildcards and the escape character itself.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

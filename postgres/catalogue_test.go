package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/foshan-hotline/hotline"
)

func TestSearchServiceItems(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		keyword string
		limit   int
		want    []int
	}{
		{"营业执照", 10, []int{f.licence}},          // part of a name, and a keyword
		{"营业执照办理", 10, []int{f.licence}},        // the exact name
		{"开办企业", 10, []int{f.licence}},          // a keyword
		{"我想开办企业要什么材料", 10, []int{f.licence}},   // a sentence containing a keyword
		{"落户", 10, []int{f.hukou}},              // a keyword, not in the name
		{"户籍", 10, []int{f.hukou, f.residence}}, // the name first, then the category
		{"户籍", 1, []int{f.hukou}},               // limited
		{"  居住证 ", 10, []int{f.residence}},      // trimmed
		{"户口", 10, []int{f.hukou}},              // inside the keyword 迁户口
		{"%", 10, nil},                          // a wildcard is a literal
		{"_", 10, nil},
		{"护照", 10, nil},
		{" ", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.keyword, func(t *testing.T) {
			items, err := f.store.SearchServiceItems(ctx, tt.keyword, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if items == nil {
				t.Error("result is nil, want a list")
			}
			var got []int
			for _, it := range items {
				got = append(got, it.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("SearchServiceItems(%q) = %v, want %v", tt.keyword, got, tt.want)
			}
		})
	}
	if _, err := f.store.SearchServiceItems(ctx, "户籍", 0); err == nil {
		t.Error("limit 0: no error")
	}
}

func TestServiceItem(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	it, err := f.store.ServiceItem(ctx, f.hukou)
	if err != nil {
		t.Fatal(err)
	}
	if it.Code != "HJ-001" || it.Name != "户籍迁入" || it.DepartmentID != f.police || it.DepartmentName != "佛山市公安局" ||
		it.Category != "户籍" || it.FeeFen != 0 || it.TimeLimitDays != 20 {
		t.Errorf("ServiceItem = %+v", it)
	}
	if got, want := it.Materials, []string{"户口簿", "身份证", "迁移证"}; !slices.Equal(got, want) {
		t.Errorf("Materials = %v, want %v", got, want)
	}
	if got, want := it.Keywords, []string{"落户", "迁户口"}; !slices.Equal(got, want) {
		t.Errorf("Keywords = %v, want %v", got, want)
	}
	byCode, err := f.store.ServiceItemByCode(ctx, "HJ-002")
	if err != nil {
		t.Fatal(err)
	}
	if byCode.ID != f.residence || byCode.FeeFen != 2000 || byCode.Keywords == nil || len(byCode.Keywords) != 0 {
		t.Errorf("ServiceItemByCode = %+v", byCode)
	}
	if it, err := f.store.ServiceItem(ctx, f.licence+1000); !errors.Is(err, hotline.ErrNotFound) || it != nil {
		t.Errorf("ServiceItem of unknown id = %v, %v; want ErrNotFound", it, err)
	}
	if it, err := f.store.ServiceItemByCode(ctx, "XX-999"); !errors.Is(err, hotline.ErrNotFound) || it != nil {
		t.Errorf("ServiceItemByCode of unknown code = %v, %v; want ErrNotFound", it, err)
	}

	all, err := f.store.ServiceItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, it := range all {
		ids = append(ids, it.ID)
	}
	if want := []int{f.licence, f.hukou, f.residence}; !slices.Equal(ids, want) {
		t.Errorf("ServiceItems = %v, want %v", ids, want)
	}
}

func TestDepartments(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	deps, err := f.store.Departments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []hotline.Department{
		{ID: f.commerce, Name: "佛山市市场监督管理局", Phone: "0757-12345"},
		{ID: f.police, Name: "佛山市公安局", Phone: "0757-110"},
	}
	if !slices.Equal(deps, want) {
		t.Errorf("Departments = %+v, want %+v", deps, want)
	}
	d, err := f.store.Department(ctx, f.police)
	if err != nil {
		t.Fatal(err)
	}
	if *d != want[1] {
		t.Errorf("Department = %+v, want %+v", *d, want[1])
	}
	if d, err := f.store.Department(ctx, f.police+1000); !errors.Is(err, hotline.ErrNotFound) || d != nil {
		t.Errorf("Department of unknown id = %v, %v; want ErrNotFound", d, err)
	}
}

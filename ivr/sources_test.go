package ivr

import "testing"

func TestNationalNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13800138000", "13800138000"},
		{"+8613800138000", "13800138000"},
		{"008613800138000", "13800138000"},
		{"8613800138000", "13800138000"},
		{"075712345678", "075712345678"}, // a landline keeps its area code
		{"+86757123", "+86757123"},       // not a mobile: left alone
	}
	for _, tt := range tests {
		if got := NationalNumber(tt.in); got != tt.want {
			t.Errorf("NationalNumber(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package flow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/foshan-hotline/hotline"
)

// Validator checks and converts the digits of a collect node.
type Validator string

// Validators of collected digits.
const (
	// ValidateDigits accepts any digits (the default); the value is a string.
	ValidateDigits Validator = "digits"
	// ValidateIDNumber accepts an 18-character resident ID number with a correct GB 11643 check
	// character, "*" keying X; the value is a string with X.
	ValidateIDNumber Validator = "id_number"
	// ValidateMobile accepts a mainland mobile number 1[3-9]xxxxxxxxx; the value is a string.
	ValidateMobile Validator = "mobile"
	// ValidateAmount accepts yuan with "*" as the decimal point (12*5 is 12.50 yuan); the
	// value is an int in fen.
	ValidateAmount Validator = "amount"
	// ValidateDate accepts YYYYMMDD; the value is a date.
	ValidateDate Validator = "date"
)

// ErrInvalidInput is wrapped by every error of Validator.Check.
var ErrInvalidInput = errors.New("invalid input")

// intoType is the variable type a validator's value needs.
func (v Validator) intoType() string {
	switch v {
	case ValidateAmount:
		return "int"
	case ValidateDate:
		return "date"
	}
	return "string"
}

// Check validates keys (without the terminator) and returns the value to store: a string, an
// int (fen) or a time.Time. Dates are in loc. The error never contains the keys.
func (v Validator) Check(keys string, loc *time.Location) (any, error) {
	switch v {
	case ValidateIDNumber:
		id := strings.ReplaceAll(keys, "*", "X")
		if strings.Contains(id[:max(len(id)-1, 0)], "X") {
			return nil, fmt.Errorf("%w: X only as the check character", ErrInvalidInput)
		}
		if err := hotline.ValidateIDNumber(id); err != nil {
			return nil, fmt.Errorf("%w: not a valid ID number", ErrInvalidInput)
		}
		return id, nil
	case ValidateMobile:
		if len(keys) != 11 || keys[0] != '1' || keys[1] < '3' || !allDigits(keys) {
			return nil, fmt.Errorf("%w: not a mobile number", ErrInvalidInput)
		}
		return keys, nil
	case ValidateAmount:
		yuan, cents, dot := strings.Cut(keys, "*")
		if yuan == "" || !allDigits(yuan) || len(yuan) > 10 || (dot && (len(cents) == 0 || len(cents) > 2 || !allDigits(cents))) {
			return nil, fmt.Errorf("%w: not an amount", ErrInvalidInput)
		}
		y, _ := strconv.ParseInt(yuan, 10, 64)
		var c int64
		if dot {
			c, _ = strconv.ParseInt((cents + "0")[:2], 10, 64)
		}
		return int(y*100 + c), nil
	case ValidateDate:
		if len(keys) != 8 || !allDigits(keys) {
			return nil, fmt.Errorf("%w: not a date", ErrInvalidInput)
		}
		t, err := time.ParseInLocation("20060102", keys, loc)
		if err != nil {
			return nil, fmt.Errorf("%w: not a date", ErrInvalidInput)
		}
		return t, nil
	}
	if keys == "" || !allDigits(keys) {
		return nil, fmt.Errorf("%w: not digits", ErrInvalidInput)
	}
	return keys, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/foshan-hotline/hotline"
)

// citizenColumns are the columns of hotline.Citizen; the ID number appears only masked and the
// PIN hash only as whether one is set.
const citizenColumns = `
	c.id, c.name, c.mobile, c.id_number_mask, c.level, c.district_code, c.status,
	c.pin_hash IS NOT NULL AS has_pin, c.registered_at, c.verified_at`

const citizenByMobileQuery = `SELECT` + citizenColumns + `
	FROM platform.citizens c
	WHERE c.mobile = $1`

const citizenByIDNumberQuery = `SELECT` + citizenColumns + `
	FROM platform.citizens c
	WHERE c.id_number_hmac = $1`

const citizenByIDQuery = `SELECT` + citizenColumns + `
	FROM platform.citizens c
	WHERE c.id = $1`

const citizenIDNumberQuery = `
	SELECT id_number_enc
	FROM platform.citizens
	WHERE id = $1`

// CitizenByMobile returns the citizen registered with a mobile number (11 digits, no prefix).
func (s *Store) CitizenByMobile(ctx context.Context, mobile string) (*hotline.Citizen, error) {
	var c hotline.Citizen
	if err := s.get(ctx, "citizen by mobile", &c, citizenByMobileQuery, mobile); err != nil {
		return nil, err
	}
	return &c, nil
}

// CitizenByIDNumber returns the citizen with an 18-character resident ID number (a lower-case
// x check character is accepted). An invalid number (length, birth date, check character) is
// an error wrapping hotline.ErrIDNumber and is never looked up. The number is found by its
// keyed hash; it is never sent in clear.
func (s *Store) CitizenByIDNumber(ctx context.Context, idNumber string) (*hotline.Citizen, error) {
	if strings.HasSuffix(idNumber, "x") {
		idNumber = strings.TrimSuffix(idNumber, "x") + "X"
	}
	if err := hotline.ValidateIDNumber(idNumber); err != nil {
		return nil, fmt.Errorf("citizen by ID number: %w", err)
	}
	var c hotline.Citizen
	if err := s.get(ctx, "citizen by ID number", &c, citizenByIDNumberQuery, s.pii.LookupHash(idNumber)); err != nil {
		return nil, err
	}
	return &c, nil
}

// Citizen returns the citizen with the platform id.
func (s *Store) Citizen(ctx context.Context, id int64) (*hotline.Citizen, error) {
	var c hotline.Citizen
	if err := s.get(ctx, fmt.Sprintf("citizen %d", id), &c, citizenByIDQuery, id); err != nil {
		return nil, err
	}
	return &c, nil
}

// RevealIDNumber returns a citizen's full ID number, decrypted. Showing it is a privileged act:
// the caller (the desk, for a supervisor) must write the audit record; everything else uses the
// masked form in hotline.Citizen.
func (s *Store) RevealIDNumber(ctx context.Context, citizenID int64) (string, error) {
	var sealed []byte
	if err := s.get(ctx, fmt.Sprintf("reveal ID number of citizen %d", citizenID), &sealed, citizenIDNumberQuery, citizenID); err != nil {
		return "", err
	}
	id, err := s.pii.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("reveal ID number of citizen %d: %w", citizenID, err)
	}
	return id, nil
}

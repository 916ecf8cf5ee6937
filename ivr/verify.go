package ivr

import (
	"context"
	"errors"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// verify asks for an ID number and the phone-service PIN, both sensitive, up to Tries times
// in this call; the data layer applies the lockout across calls. Every number with a valid
// check character is followed by the PIN prompt and one VerifyPIN: the services fail an
// unknown number, an ordinary and a real-name user's alike until the pair is right, and say
// hotline.ErrNotRealName (the not_allowed exit) only after the right PIN.
func (c *call) verify(n *flow.Verify) (*flow.Exit, string, error) {
	idSpec := collectSpec{min: 18, max: 18, terminator: "#", firstDigit: n.FirstDigitTimeout, interDigit: n.InterDigitTimeout}
	pinSpec := collectSpec{min: 4, max: 8, terminator: "#", firstDigit: n.FirstDigitTimeout, interDigit: n.InterDigitTimeout}
	// A call resumed by another controller keeps the failed tries it had.
	for try := 1 + c.verifyFailures; try <= n.Tries; try, c.verifyFailures = try+1, try {
		c.saveState(c.node)
		if try > 1 {
			if err := c.say(n.InvalidPrompts, true); err != nil {
				return nil, "", err
			}
		}
		if err := c.say(n.IDPrompts, true); err != nil {
			return nil, "", err
		}
		keys, ok, err := c.readDigits(idSpec)
		if err != nil {
			return nil, "", err
		}
		v, verr := flow.ValidateIDNumber.Check(keys, time.UTC)
		if !ok || verr != nil {
			continue
		}
		idNumber := v.(string)
		if err := c.say(n.PINPrompts, true); err != nil {
			return nil, "", err
		}
		pin, ok, err := c.readDigits(pinSpec)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		var who *hotline.Citizen
		err = c.service(func(ctx context.Context) (err error) {
			who, err = c.e.cfg.Services.VerifyPIN(ctx, c.id, idNumber, pin)
			return err
		})
		switch {
		case err == nil:
			c.verified, c.verifiedC, c.citizenID = true, flow.CitizenOf(who), who.ID
			if n.Into != nil {
				c.top().vars[n.Into.Name] = c.verifiedC
			}
			return n.OK, "verified", nil
		case errors.Is(err, hotline.ErrPINLocked):
			return n.Locked, "locked", nil
		case errors.Is(err, hotline.ErrNotRealName):
			return n.NotAllowed, "not_real_name", nil
		case errors.Is(err, hotline.ErrPINMismatch), errors.Is(err, hotline.ErrNotFound), errors.Is(err, hotline.ErrNoPIN):
			continue
		default:
			c.log.Error("verify", "err", err)
			return n.OnError, "", nil
		}
	}
	return n.Failed, "failed", nil
}

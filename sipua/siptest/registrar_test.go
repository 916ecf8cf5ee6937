package siptest

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestRegistrar(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := Start(ctx, Options{User: "1001", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("1001"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	register := func(password, expires string) int {
		var to sip.Uri
		if err := sip.ParseUri("sip:1001@"+srv.Addr("udp"), &to); err != nil {
			t.Fatal(err)
		}
		req := sip.NewRequest(sip.REGISTER, to)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "1001", Host: "127.0.0.1", Port: 5099}})
		req.AppendHeader(sip.NewHeader("Expires", expires))
		res, err := client.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == sip.StatusUnauthorized {
			res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "1001", Password: password})
			if err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}

	if got, want := register("wrong", "60"), 403; got != want {
		t.Errorf("REGISTER with a wrong password: %d, want %d", got, want)
	}
	if _, ok := srv.Registered("1001"); ok {
		t.Error("registered with a wrong password")
	}
	if got, want := register("s3cret", "60"), 200; got != want {
		t.Fatalf("REGISTER: %d, want %d", got, want)
	}
	if c, ok := srv.Registered("1001"); !ok || c != "sip:1001@127.0.0.1:5099" {
		t.Errorf("contact of 1001 = %q, %v; want sip:1001@127.0.0.1:5099", c, ok)
	}
	if got, want := register("s3cret", "0"), 200; got != want {
		t.Fatalf("un-REGISTER: %d, want %d", got, want)
	}
	if _, ok := srv.Registered("1001"); ok {
		t.Error("still registered after Expires: 0")
	}
}

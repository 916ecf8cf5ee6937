package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/siptest"
)

// phoneServer starts the test SIP server, playing a real prompt of the hotline.
func phoneServer(t testing.TB, opts siptest.Options) *siptest.Server {
	t.Helper()
	if opts.Prompt == nil {
		pcm, err := sipua.ReadWAV(filepath.Join(repotest.Root(t), "sounds/zh/common/please_wait.wav"))
		if err != nil {
			t.Fatal(err)
		}
		opts.Prompt = pcm
	}
	srv, err := siptest.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// hotlineCmd runs the hotline command with args and returns its output and error.
func hotlineCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, logs syncBuffer
	err = run(ctx, args, []string{"HOTLINE_LOG_LEVEL=warn"}, &out, &logs)
	return out.String(), logs.String(), err
}

func TestPhoneCall(t *testing.T) {
	srv := phoneServer(t, siptest.Options{})
	record := filepath.Join(t.TempDir(), "call.wav")
	out, logs, err := hotlineCmd(t, "phone", "call", srv.URI("12345", "tcp"), "--transport", "tcp", "--from", "13800138000",
		"--script", "wait:prompt 2s; keys 1; wait 1s; keys 2; listen 2s; hangup", "--record", record)
	if err != nil {
		t.Fatalf("phone call: %v\n%s\n%s", err, out, logs)
	}
	for _, want := range []string{"200 OK: answered after", "codec PCMU/8000, telephone-event/8000 payload 101",
		"step 2 keys 1: sent 1", "step 5 listen 2s: speech heard", "ended: hung up by the phone (BYE)", "digits sent: 12", "result: OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline has no %q:\n%s", want, out)
		}
	}
	calls, err := srv.WaitCalls(ctxFor(t, 5*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := calls[0].Digits, "12"; got != want {
		t.Errorf("the server received %q, want %q", got, want)
	}
	pcm, err := sipua.ReadWAV(record)
	if err != nil {
		t.Fatal(err)
	}
	// The prompt was played at the answer: the recording's first second is not silent.
	loud := 0
	for _, v := range pcm[:min(len(pcm), sipua.SampleRate)] {
		if v > 1000 || v < -1000 {
			loud++
		}
	}
	if loud < 400 {
		t.Errorf("%d loud samples in the recording's first second, want the prompt\n%s", loud, out)
	}
}

func TestPhoneCallJSON(t *testing.T) {
	srv := phoneServer(t, siptest.Options{})
	out, logs, err := hotlineCmd(t, "phone", "call", srv.URI("12345", "udp"), "--script", "wait:prompt 2s; keys 9#", "--json")
	if err != nil {
		t.Fatalf("phone call: %v\n%s", err, logs)
	}
	var rep sipua.Report
	if err := json.Unmarshal([]byte(out), &struct {
		*sipua.Report
		AnswerTime any `json:"answer_ms"`
		Duration   any `json:"duration_ms"`
		Media      any `json:"media"`
		Responses  any `json:"responses"`
		Steps      any `json:"steps"`
	}{Report: &rep}); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !rep.OK || rep.DigitsSent != "9#" || !rep.Answered {
		t.Errorf("report: ok %v, answered %v, digits %q; want ok, answered, 9#\n%s", rep.OK, rep.Answered, rep.DigitsSent, out)
	}
}

func TestPhoneCallFails(t *testing.T) {
	srv := phoneServer(t, siptest.Options{Codecs: []string{"PCMA"}})
	wav := filepath.Join(t.TempDir(), "cd.wav")
	if err := os.WriteFile(wav, []byte("RIFF\x00\x00\x00\x00WAVEnot really"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"busy", []string{srv.URI("busy", "udp")}, "call failed (486 Busy Here): the far end answered 486 Busy Here"},
		{"no answer", []string{srv.URI("noanswer", "udp"), "--timeout", "1s"}, "call failed (no answer): no answer within 1s"},
		{"nothing heard", []string{srv.URI("12345", "udp"), "--codec", "pcma", "--script", "wait:prompt 3s; wait 5s; listen 1s"},
			"call failed (no audio): step 3 (listen 1s): no speech heard in 1s"},
		{"codec refused", []string{srv.URI("12345", "udp"), "--codec", "pcmu"}, "the far end refuses the offered codecs (PCMU): 488 Not Acceptable Here"},
		{"unparsable URI", []string{"12345@asterisk"}, "bad SIP URI \"12345@asterisk\": it must start with sip:"},
		{"unparsable URI, no host", []string{"sip:12345@"}, "bad SIP URI"},
		{"unknown host", []string{"sip:12345@asterisk.invalid"}, "cannot resolve asterisk.invalid"},
		{"nothing listening", []string{"sip:12345@127.0.0.1:9", "--timeout", "1s"}, "no response from 127.0.0.1:9 over udp within 1s"},
		{"refused over tcp", []string{"sip:12345@127.0.0.1:9", "--transport", "tcp"}, "cannot reach 127.0.0.1:9 over tcp"},
		{"bad script", []string{srv.URI("12345", "udp"), "--script", "keys 1x"}, `'x' is not a DTMF digit`},
		{"unknown codec", []string{srv.URI("12345", "udp"), "--codec", "g729"}, `codec "g729": want PCMU or PCMA`},
		{"bad transport", []string{srv.URI("12345", "udp"), "--transport", "sctp"}, `transport "sctp": want udp or tcp`},
		{"bad wav", []string{srv.URI("12345", "udp"), "--wav", wav}, "WAV file is not 8 kHz mono 16-bit PCM"},
		{"no password file", []string{srv.URI("12345", "udp"), "--password-file", wav + ".missing"}, "--password-file: open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := hotlineCmd(t, append([]string{"phone", "call"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q\n%s", err, tt.want, out)
			}
		})
	}
}

func TestPhoneBenchSIP(t *testing.T) {
	srv := phoneServer(t, siptest.Options{})
	rows := filepath.Join(t.TempDir(), "calls.csv")
	out, logs, err := hotlineCmd(t, "bench", "sip", srv.URI("12345", "udp"), "--calls", "50", "--rate", "100", "--hold", "3s",
		"--script", "wait:prompt 2s; keys 1; wait:prompt 2s; keys 23; listen 1s; hangup", "--csv", rows)
	if err != nil {
		t.Fatalf("bench sip: %v\n%s\n%s", err, out, logs)
	}
	t.Log("\n" + out)
	for _, want := range []string{"attempted                            50", "answered                             50",
		"completed (script ran, audio heard)  50", "peak 50 at once", "DTMF digits sent                     150"} {
		if !strings.Contains(out, want) {
			t.Errorf("table has no %q", want)
		}
	}
	f, err := os.Open(rows)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(records), 51; got != want {
		t.Errorf("%d CSV rows, want %d", got, want)
	}
	calls, err := srv.WaitCalls(ctxFor(t, 10*time.Second), 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if c.Digits != "123" {
			t.Errorf("the server received %q on a call, want 123", c.Digits)
		}
	}
}

func TestPhoneBenchSIPRefusesRemoteTarget(t *testing.T) {
	_, _, err := hotlineCmd(t, "bench", "sip", "sip:12345@192.0.2.1")
	if err == nil || !strings.Contains(err.Error(), "pass --allow-remote") {
		t.Errorf("error = %v, want a refusal naming --allow-remote", err)
	}
	_, _, err = hotlineCmd(t, "bench", "sip", "sip:12345@127.0.0.1", "--calls", "100000")
	if err == nil || !strings.Contains(err.Error(), "want 1 to 10000") {
		t.Errorf("error = %v, want the bound on calls", err)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// BenchmarkPhoneBenchSIP runs 'hotline bench sip' with 200 concurrent calls, each with DTMF and
// audio both ways, against the test UAS in this process; the generator is a child process, so
// its CPU time and peak memory are its own. Run with
//
//	go test -run '^$' -bench PhoneBenchSIP -benchtime 1x ./cmd/hotline
func BenchmarkPhoneBenchSIP(b *testing.B) {
	srv := phoneServer(b, siptest.Options{})
	for range b.N {
		cmd := exec.Command(os.Args[0], "bench", "sip", srv.URI("12345", "udp"), "--calls", "200", "--rate", "50", "--hold", "10s",
			"--from", "13800138000", "--script", "wait:prompt 5s; keys 1; wait:prompt 5s; keys 2; wait 1s; keys 3#; listen 2s; hangup")
		cmd.Env = append(os.Environ(), actAsHotline+"=1", "HOTLINE_LOG_LEVEL=warn")
		var out, errs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errs
		err := cmd.Run()
		b.Logf("\n%s%s", out.String(), errs.String())
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			b.Fatal(err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		b.ReportMetric(float64(cpu.Microseconds())/1000/200, "cpu-ms/call")
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
		if err != nil {
			b.Fatalf("bench sip: %v", err)
		}
	}
}

func TestPhoneCallPasswordFile(t *testing.T) {
	srv := phoneServer(t, siptest.Options{User: "monitor", Password: "s3cret"})
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := hotlineCmd(t, "phone", "call", srv.URI("12345", "udp"), "--from", "13800138000", "--user", "monitor",
		"--password-file", file, "--script", "wait:prompt 2s; hangup")
	if err != nil {
		t.Fatalf("phone call: %v\n%s", err, out)
	}
	if !strings.Contains(out, "401 Unauthorized") || !strings.Contains(out, "result: OK") {
		t.Errorf("want a 401 challenge answered, then the call:\n%s", out)
	}
}

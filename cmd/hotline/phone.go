package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/foshan-hotline/hotline/sipua"
)

// errCallFailed is returned when a call ran but did not do what its script expects.
var errCallFailed = errors.New("call failed")

// phoneFlags are the settings 'hotline phone call' and 'hotline bench sip' share.
type phoneFlags struct {
	from, transport, user, password, passwordFile, proxy, wav, script string
	codecs                                                            []string
	timeout                                                           time.Duration
}

func (f *phoneFlags) add(fs *pflag.FlagSet, script string) {
	fs.StringVar(&f.from, "from", "hotline-phone", "caller number (the user of From and Contact)")
	fs.StringVar(&f.script, "script", script, "what to do once answered (see 'hotline phone call --help')")
	fs.StringVar(&f.transport, "transport", "udp", "udp or tcp (a ;transport= parameter of the URI must agree)")
	fs.StringVar(&f.user, "user", "", "digest authentication user (default: --from)")
	fs.StringVar(&f.password, "password", "", "digest authentication password (visible to ps: prefer --password-file)")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the digest authentication password from the first line of this file")
	fs.StringVar(&f.proxy, "proxy", "", "outbound proxy SIP URI, e.g. sip:sbc.example:5060")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the answer")
	fs.StringVar(&f.wav, "wav", "", "send this 8 kHz mono 16-bit WAV file once answered (default: silence)")
	fs.StringSliceVar(&f.codecs, "codec", []string{"PCMU", "PCMA"}, "audio codecs to offer, in order")
}

// phone starts a SIP phone with these settings, bound to the address that reaches target.
func (f *phoneFlags) phone(ctx context.Context, log *slog.Logger, target string) (*sipua.Phone, error) {
	uri, err := sipua.ParseTarget(target)
	if err != nil {
		return nil, err
	}
	host := uri.Host
	if f.proxy != "" {
		p, err := sipua.ParseTarget(f.proxy)
		if err != nil {
			return nil, fmt.Errorf("--proxy: %w", err)
		}
		host = p.Host
	}
	local, err := sipua.LocalHostFor(ctx, host)
	if err != nil {
		return nil, err
	}
	if f.passwordFile != "" {
		data, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("--password-file: %w", err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		f.password = strings.TrimSpace(first)
	}
	cfg := sipua.Config{Transport: f.transport, LocalHost: local, From: f.from, Username: f.user, Password: f.password,
		Proxy: f.proxy, Codecs: f.codecs, Log: quietSIPLibraries(log)}
	if f.wav != "" {
		if cfg.Audio, err = sipua.ReadWAV(f.wav); err != nil {
			return nil, err
		}
	}
	return sipua.New(ctx, cfg)
}

// quietSIPLibraries returns log for the SIP and RTP libraries, warnings and worse only, and
// sends their package-level logging (slog's default logger otherwise) there too.
func quietSIPLibraries(log *slog.Logger) *slog.Logger {
	l := slog.New(minLevel{Handler: log.Handler(), level: slog.LevelWarn})
	sip.SetDefaultLogger(l)
	media.SetDefaultLogger(l)
	return l
}

// minLevel drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (a *app) phoneCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "phone",
		Short: "A command-line SIP phone for smoke tests of a deployment",
	}
	var f phoneFlags
	var record string
	var asJSON bool
	call := &cobra.Command{
		Use:   "call SIP-URI",
		Short: "Call a SIP URI, follow a script, print a timeline; exit 0 only if it all went as scripted",
		Long: `Place one call (UDP or TCP, optional digest authentication and outbound proxy), send silence
or a WAV file as the caller's voice, press keys as RFC 4733 (RFC 2833) telephone events, record
what is heard, and print a timeline: SIP responses, answer time, codec, RTP packets and loudness
of every second (speech or silence), digits sent, how the call ended.

The script is steps separated by ';':
  wait D          wait D, expecting nothing
  wait:prompt D   wait until the far end speaks, at most D (fails if it does not)
  wait:silence D  wait until the far end has been quiet for 600 ms, at most D
  wait:hangup D   wait until the far end hangs up, at most D
  keys DIGITS     press 0-9 * # A-D, each held 100 ms
  listen D        listen for D (fails unless speech is heard)
  hangup          hang up (also done after the last step)
Speech is audio above -45 dBFS for at least 60 ms.

The exit status is 0 only if the call was answered, every step ran and audio was heard wherever
the script expects it; otherwise the reason is printed and the status is 1.

Example, a water bill on the shipped flows (welcome, Mandarin, bills, water):
  hotline phone call sip:12345@asterisk.example --from 13800138000 \
    --script "wait:prompt 5s; wait:silence 20s; keys 1; wait:prompt 5s; keys 1; wait:prompt 5s; keys 1; listen 8s; hangup" \
    --record call.wav`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.phoneCall(cmd.Context(), args[0], f, record, asJSON)
		},
	}
	f.add(call.Flags(), "wait:prompt 5s; listen 5s; hangup")
	call.Flags().StringVar(&record, "record", "", "write what the far end says to this WAV file")
	call.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.AddCommand(call)
	return cmd
}

func (a *app) phoneCall(ctx context.Context, target string, f phoneFlags, record string, asJSON bool) error {
	script, err := sipua.ParseScript(f.script)
	if err != nil {
		return err
	}
	phone, err := f.phone(ctx, a.log, target)
	if err != nil {
		return err
	}
	defer phone.Close()
	opts := sipua.CallOptions{AnswerTimeout: f.timeout}
	var wav *sipua.WAVWriter
	if record != "" {
		file, err := os.Create(record)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		defer file.Close()
		if wav, err = sipua.NewWAVWriter(file); err != nil {
			return err
		}
		opts.Record = wav
	}
	// Bounded whatever the far end does: the answer, the steps, the keys, and time to hang up.
	bound := f.timeout + script.Duration() + time.Duration(script.Digits())*300*time.Millisecond + 30*time.Second
	cctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	rep, err := phone.Call(cctx, target, script, opts)
	if err != nil {
		return err
	}
	if wav != nil {
		if err := wav.Close(); err != nil {
			return fmt.Errorf("--record: %w", err)
		}
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(a.stdout); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%w (%s): %s", errCallFailed, rep.Outcome, strings.TrimSpace(rep.Failure))
	}
	return nil
}

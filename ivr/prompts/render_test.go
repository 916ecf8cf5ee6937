package prompts_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/prompts"
)

func needSox(t testing.TB) string {
	t.Helper()
	sox, ok := prompts.HasSox("")
	if !ok {
		t.Fatal("sox is not installed (apt-get install sox)")
	}
	return sox
}

func TestConvertRefuses(t *testing.T) {
	sox := needSox(t)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"text":     {[]byte("not a recording"), prompts.ErrNotAudio},
		"too long": {silence(8000, 3*time.Second), prompts.ErrTooLong},
	} {
		if _, _, err := prompts.Convert(ctx, sox, tc.in, 2*time.Second); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	out, info, err := prompts.Convert(ctx, sox, silence(44100, time.Second), time.Minute)
	if err != nil || !info.Telephone() || info.Duration() != time.Second || len(out) == 0 {
		t.Errorf("converted: %+v %v, want a second of 8 kHz mono 16-bit", info, err)
	}
}

// silence is a mono 16-bit WAV of d at rate.
func silence(rate int, d time.Duration) []byte {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	data := make([]byte, 44+2*n)
	copy(data, "RIFF")
	put32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	put32(data[16:], 16)
	data[20], data[22] = 1, 1
	put32(data[24:], uint32(rate))
	put32(data[28:], uint32(rate*2))
	data[32], data[34] = 2, 16
	copy(data[36:], "data")
	put32(data[40:], uint32(2*n))
	return data
}

func put32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// BenchmarkRender measures how long a supervisor waits for a changed text to be spoken.
func BenchmarkRender(b *testing.B) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		b.Fatal("espeak-ng is not installed")
	}
	r, err := prompts.NewRenderer("", "")
	if err != nil {
		b.Fatal(err)
	}
	lang := prompts.Language{Code: "zh", Voice: "cmn-latn-pinyin", Rate: 150, Required: true}
	for b.Loop() {
		if _, err := r.Render(context.Background(), lang, "欢迎致电佛山市信息惠民服务热线，查询水费电费请按一"); err != nil {
			b.Fatal(err)
		}
	}
}

// Package prompts manages the IVR's recorded prompts: the manifest of their
// texts (sounds/manifest.yaml), the audio files generated from it
// (sounds/<lang>/<id>.wav), and the checks that keep the two in step.
//
// # Manifest
//
// manifest.yaml declares the languages and the hand-written prompts:
//
//	languages:
//	  zh:  {voice: cmn-latn-pinyin, rate: 150, required: true}
//	  yue: {voice: yue, rate: 150, required: true}
//	  en:  {voice: en-gb, rate: 160}
//	prompts:
//	  common/welcome:
//	    zh: 欢迎致电佛山市信息惠民服务热线
//	    yue: 欢迎致电佛山市信息惠民服务热线
//	  num/0: {zh: 零, yue: 零}
//	  common/beep: {tone: {hz: 1000, seconds: 0.4}}
//
// A prompt has a text in every required language and may have one in an
// optional language; the IVR falls back to Mandarin for a missing optional
// text. A tone prompt (a beep) has no text and a file in every language.
// Texts write numbers in words (Han numerals, or English words), never as
// ASCII digits, so that the caption and the audio say the same thing.
//
// Generated prompts (service item and department names from the catalogue)
// live in further files next to the manifest, one per generator, so that no
// two writers edit the same file. Every *.yaml file in the sounds directory
// other than manifest.yaml is such a section; it owns an id prefix and only
// holds ids under it:
//
//	prefix: item/
//	prompts:
//	  item/1001: {zh: 居民身份证申领, yue: 居民身份证申领}
//
// No id may appear twice, manifest.yaml may not use a section's prefix, and
// no section prefix may contain another.
//
// Ids are lower-case words of [a-z0-9] joined by "_" or "-", in segments
// separated by "/"; the segments become directories (sounds/zh/num/0.wav),
// and the same path without ".wav" is the Asterisk sound name.
//
// # Audio
//
// Build renders each text with espeak-ng (Mandarin uses the cmn-latn-pinyin
// voice: the plain cmn voice reads many characters as English letters) and
// converts it with sox: silence trimmed at both ends, resampled to 8 kHz,
// mono, 16-bit signed PCM, peak-normalised to -3 dBFS, 50 ms of padding
// each side, no dither (so a rebuild is byte-for-byte reproducible with the
// same tools). Before rendering, Build asks espeak-ng for the phonemes and
// refuses a text that the voice would switch to another language for, which
// is how a wrong voice shows without listening.
//
// sounds.lock records, per file, a hash of what it was made from: the text
// (or tone), the voice, the rate and the pipeline settings. Build renders
// only files whose hash changed or whose file is missing or invalid, and
// removes WAV files that no prompt owns. Tool versions are not hashed, so
// that another machine's espeak-ng does not rewrite every file.
//
// Check verifies a sounds directory without any tool: every prompt has a
// valid file in every language it must have (RIFF WAVE, PCM, 8000 Hz, mono,
// 16-bit, a plausible duration for its text), the lock matches the
// manifest, and there is no file that no prompt owns.
package prompts

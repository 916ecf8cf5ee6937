package ari

// Test-only exports for the ari_test package.

// TranscriptLine is one line of a recorded transcript.
type TranscriptLine = transcriptLine

// ReadTranscripts reads every transcript, by file name.
var ReadTranscripts = readTranscripts

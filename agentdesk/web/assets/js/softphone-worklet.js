// softphone-worklet.js: the softphone's audio thread, at the context's 8000 Hz. It cuts the
// microphone into frames of 160 samples (20 ms) for the server, and plays the caller's frames
// through a small jitter buffer: playing starts once 40 ms are buffered, and beyond 200 ms the
// oldest frames are dropped, so that a burst after a network hiccup does not add delay for
// the rest of the call.

const FRAME = 160;
const START = 2 * FRAME; // 40 ms
const MAX = 10 * FRAME; // 200 ms
const KEEP = 3 * FRAME; // what is left after a drop

class SoftphoneIO extends AudioWorkletProcessor {
  constructor() {
    super();
    this.up = new Int16Array(FRAME);
    this.upLen = 0;
    this.queue = []; // Int16Array frames from the caller
    this.queued = 0; // samples in queue
    this.cur = null;
    this.pos = 0;
    this.playing = false;
    this.port.onmessage = (e) => {
      const f = e.data;
      this.queue.push(f);
      this.queued += f.length;
      while (this.queued > MAX && this.queue.length > 1) {
        this.queued -= this.queue.shift().length;
        if (this.queued <= KEEP) break;
      }
    };
  }

  next() {
    if (!this.playing && this.queued < START) return false;
    const f = this.queue.shift();
    if (!f) {
      this.playing = false; // run dry: wait for START again
      return false;
    }
    this.queued -= f.length;
    this.cur = f;
    this.pos = 0;
    this.playing = true;
    return true;
  }

  process(inputs, outputs) {
    const mic = inputs[0] && inputs[0][0];
    if (mic) {
      for (let i = 0; i < mic.length; i++) {
        const v = Math.max(-1, Math.min(1, mic[i]));
        this.up[this.upLen++] = v < 0 ? v * 32768 : v * 32767;
        if (this.upLen === FRAME) {
          this.port.postMessage(this.up, [this.up.buffer]);
          this.up = new Int16Array(FRAME);
          this.upLen = 0;
        }
      }
    }
    const out = outputs[0];
    const ch = out[0];
    for (let i = 0; i < ch.length; i++) {
      if ((!this.cur || this.pos >= this.cur.length) && !this.next()) {
        ch[i] = 0;
        continue;
      }
      ch[i] = this.cur[this.pos++] / 32768;
    }
    for (let c = 1; c < out.length; c++) out[c].set(ch);
    return true;
  }
}

registerProcessor("softphone-io", SoftphoneIO);

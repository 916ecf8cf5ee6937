// offer.js: a call offered to the agent. While the offer is pending the desk rings: a short
// two-note chime generated with Web Audio every two seconds (no sound file to fetch), the
// ringing banner and the page title. The ring stops as soon as the snapshot has no offer.
// A callback (回拨; 回访 when it follows up a work order) rings the same way: the banner names
// it and the citizen's number, and the work order of a follow-up.

import { duration, since, text } from "./format.js";

const $ = (id) => document.getElementById(id);

const chimeEvery = 2000; // ms between chimes
const notes = [
  [659.25, 0], // E5
  [880.0, 0.18], // A5
]; // [frequency Hz, start s]
const noteLength = 0.16; // s
const volume = 0.12;

/** Ringer plays the chime until stopped. */
class Ringer {
  constructor() {
    this.ctx = null;
    this.timer = 0;
    this.chimes = 0; // played since the page loaded, for tests and diagnostics
  }

  audio() {
    if (!this.ctx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      this.ctx = new AC();
    }
    return this.ctx;
  }

  /** unlock resumes audio after a user gesture: browsers keep it suspended until one. */
  unlock() {
    const ctx = this.audio();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
  }

  /** blocked reports whether the browser keeps the sound off for want of a gesture. */
  blocked() {
    return !!this.ctx && this.ctx.state !== "running";
  }

  chime() {
    const ctx = this.audio();
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    const t0 = ctx.currentTime + 0.02;
    for (const [freq, at] of notes) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      // A soft attack and release: no click at either end.
      gain.gain.setValueAtTime(0, t0 + at);
      gain.gain.linearRampToValueAtTime(volume, t0 + at + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + noteLength);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0 + at);
      osc.stop(t0 + at + noteLength + 0.02);
    }
    this.chimes++;
  }

  start() {
    if (this.timer) return;
    this.chime();
    this.timer = setInterval(() => this.chime(), chimeEvery);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
  }
}

/** createOffer wires the ringing banner and the ringer. */
export function createOffer() {
  const ring = $("ring");
  const kind = $("ring-kind");
  const queue = $("ring-queue");
  const number = $("ring-number");
  const time = $("ring-time");
  const sound = $("ring-sound");
  const ringer = new Ringer();
  const title = document.title;
  let offer = null;
  let flash = false;

  const unlock = () => ringer.unlock();
  document.addEventListener("keydown", unlock, true);
  document.addEventListener("pointerdown", unlock, true);

  // Tests and the support desk read how the ring went.
  window.deskRing = {
    get ringing() {
      return !!offer;
    },
    get chimes() {
      return ringer.chimes;
    },
  };

  return {
    update(s) {
      const o = s.offer;
      if (o && (!offer || o.id !== offer.id)) {
        offer = o;
        text(kind, offerKind(o));
        text(queue, o.work_order_number ? `工单 ${o.work_order_number} · ${o.queue_name || o.queue_id}` : o.queue_name || o.queue_id);
        text(number, o.caller_number || "未显示号码");
        ring.dataset.offer = String(o.id);
        ring.dataset.kind = o.kind || "call";
        ring.hidden = false;
        document.body.dataset.ringing = "true";
        ringer.start();
      } else if (!o && offer) {
        offer = null;
        ring.hidden = true;
        delete ring.dataset.offer;
        delete ring.dataset.kind;
        delete document.body.dataset.ringing;
        ringer.stop();
        document.title = title;
      }
      this.tick();
    },
    tick() {
      if (!offer) return;
      text(time, duration(since(offer.offered_at)));
      sound.hidden = !ringer.blocked();
      flash = !flash;
      document.title = flash ? `【${offer.kind === "callback" ? offerKind(offer) : "来电"}】${offer.caller_number} · 坐席工作台` : title;
    },
  };
}

/** offerKind names an offer in the banner: 来电振铃, 回拨 or 回访 (a work order's follow-up). */
export function offerKind(o) {
  if (!o || o.kind !== "callback") return "来电振铃";
  return o.work_order_id ? "回访" : "回拨";
}

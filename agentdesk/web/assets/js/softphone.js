// softphone.js: the desk's built-in phone, for agents whose phone is the softphone. The
// server keeps a SIP line registered for the agent and carries the call's audio over the
// websocket /api/agent/softphone; here the microphone (with echo cancellation) goes up and
// the caller comes down, 20 ms frames of 8 kHz 16-bit samples, through an AudioWorklet
// (softphone-worklet.js). Answering is the desk's answer button, like any phone; a refresh
// re-attaches the audio to the call in progress.

import { h, text } from "./format.js";

const names = {
  registering: "软电话注册中",
  idle: "软电话就绪",
  ringing: "软电话振铃",
  talking: "软电话通话中",
  offline: "软电话未连接",
};

/** createSoftphone returns the softphone; start(me) does nothing for a desk phone. */
export function createSoftphone({ notify }) {
  let chip = null;
  let ws = null;
  let ctx = null;
  let node = null;
  let analyser = null;
  let status = { state: "offline" };
  let retry = 0;
  let stopped = false;

  function render() {
    if (!chip) return;
    chip.dataset.state = status.state;
    chip.title = status.problem ? `注册失败：${status.problem}` : "";
    text(chip, names[status.state] || status.state);
  }

  async function audio() {
    ctx = new AudioContext({ sampleRate: 8000, latencyHint: "interactive" });
    await ctx.audioWorklet.addModule(new URL("./softphone-worklet.js", import.meta.url));
    node = new AudioWorkletNode(ctx, "softphone-io", { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
    analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    node.connect(analyser);
    analyser.connect(ctx.destination);
    node.port.onmessage = (e) => {
      if (ws && ws.readyState === WebSocket.OPEN && status.state === "talking") ws.send(e.data.buffer);
    };
    try {
      const mic = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
      });
      ctx.createMediaStreamSource(mic).connect(node);
    } catch (e) {
      notify(`无法使用麦克风，市民将听不到您的声音：${e.message}`, "error");
    }
    // Browsers start audio only after the page was used: the first click or key resumes it.
    if (ctx.state === "suspended") {
      const resume = () => ctx.resume();
      document.addEventListener("pointerdown", resume, { once: true });
      document.addEventListener("keydown", resume, { once: true });
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/api/agent/softphone`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => (retry = 0);
    ws.onmessage = (e) => {
      if (typeof e.data === "string") {
        const m = JSON.parse(e.data);
        if (m.type === "status") {
          status = m.status;
          render();
        }
        return;
      }
      if (node) {
        const frame = new Int16Array(e.data);
        node.port.postMessage(frame, [frame.buffer]);
      }
    };
    ws.onclose = (e) => {
      ws = null;
      if (stopped) return;
      status = { state: "offline" };
      render();
      if (e.code === 1003) return; // refused what we sent: a fault here, not worth a loop
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** (retry - 1));
    };
  }

  return {
    async start(me) {
      if (!me.softphone) return;
      chip = h("span", { class: "softphone", id: "softphone", role: "status" });
      const anchor = document.getElementById("conn");
      if (anchor) anchor.before(chip);
      else document.body.append(chip);
      render();
      await audio();
      connect();
      // For the support desk's console and the tests: the line's status and the loudest
      // frequency the agent hears, with its level.
      window.deskSoftphone = {
        status: () => status,
        heard() {
          const bins = new Float32Array(analyser.frequencyBinCount);
          analyser.getFloatFrequencyData(bins);
          let best = 0;
          for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
          return { hz: (best * ctx.sampleRate) / analyser.fftSize, db: bins[best] };
        },
      };
    },
    stop() {
      stopped = true;
      if (ws) ws.close(1000);
      if (ctx) ctx.close();
    },
  };
}

// node ari-client 2.2.0: the end-to-end application of bench/e2e.py, in its own process.
// node e2e.js URL USER PASSWORD CALLS CONCURRENCY PREFIX DEADLINE: READY, GO on stdin, one JSON line.
const net = require("net");
let connects = 0;
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  connects += 1;
  return connect.apply(this, args);
};
const ari = require("ari-client");

const APP = "bench-e2e";
const ENDPOINT = "Local/wait@default";
const SOUND = "sound:ascending-2tone";
const [url, user, password, callsText, concurrencyText, prefix, deadlineText] = process.argv.slice(2);
const calls = Number(callsText);
const concurrency = Number(concurrencyText);
const deadline = Number(deadlineText) * 1000;
const now = () => Number(process.hrtime.bigint()) / 1e6;

function usage() {
  const u = process.resourceUsage();
  return { user_ms: u.userCPUTime / 1e3, sys_ms: u.systemCPUTime / 1e3, vcs: u.voluntaryContextSwitches,
           ics: u.involuntaryContextSwitches };
}

(async () => {
  const client = await ari.connect(url, user, password);
  const started = new Map();
  const rest = {};
  const callMs = [];
  const errors = [];
  let inProgress = 0;
  let next = 0;
  let u0 = null;
  let t0 = 0;
  let finish = null;
  const timed = async (op, promise) => {
    const s = now();
    try {
      return await promise;
    } finally {
      (rest[op] = rest[op] || []).push(now() - s);
    }
  };
  const endCall = (cid) => {
    const s = started.get(cid);
    if (s === undefined) return;
    started.delete(cid);
    callMs.push(now() - s);
    inProgress -= 1;
    if (callMs.length === calls) finish();
    else pump();
  };
  const pump = () => {
    while (inProgress < concurrency && next < calls) {
      const cid = `${prefix}-${next}`;
      next += 1;
      inProgress += 1;
      started.set(cid, now());
      timed("originate", client.channels.originate({ endpoint: ENDPOINT, app: APP, channelId: cid }))
        .catch((err) => { errors.push(`originate: ${err}`.slice(0, 300)); endCall(cid); });
    }
  };
  client.on("StasisStart", async (event, channel) => {
    if (!started.has(channel.id)) return;
    try {
      await timed("answer", channel.answer());
      await timed("play", channel.play({ media: SOUND, playbackId: `${channel.id}-p` }));
    } catch (err) {
      errors.push(`answer/play: ${err}`.slice(0, 300));
    }
  });
  client.on("PlaybackFinished", async (event, playback) => {
    const cid = playback.target_uri.split(":")[1];
    if (!started.has(cid)) return;
    try {
      await timed("hangup", client.channels.hangup({ channelId: cid }));
    } catch (err) {
      errors.push(`hangup: ${err}`.slice(0, 300));
    }
  });
  client.on("StasisEnd", (event, channel) => endCall(channel.id));
  await client.start(APP);
  const report = () => {
    const u1 = usage();
    const out = { client: "node ari-client", calls: callMs.length, seconds: (now() - t0) / 1e3, call_ms: callMs,
                  rest_ms: rest, errors, connects };
    for (const k of Object.keys(u1)) out[k] = u1[k] - u0[k];
    process.stdout.write(JSON.stringify(out) + "\n", () => process.exit(0));
  };
  process.stdout.write("READY\n");
  process.stdin.once("data", (data) => {
    if (String(data).trim() !== "GO") process.exit(1);
    process.stdin.pause();
    connects = 0;
    u0 = usage();
    t0 = now();
    const timer = setTimeout(() => { errors.push("deadline reached"); report(); }, deadline);
    finish = () => { clearTimeout(timer); report(); };
    pump();
  });
})().catch((err) => { console.error(err); process.exit(1); });

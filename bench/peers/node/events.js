// node ari-client 2.2.0 on the feeder's stream: events/s through client.on handlers.
const ari = require("ari-client");
const [url, countText] = process.argv.slice(2);
const count = Number(countText);
const types = ["StasisStart", "ChannelStateChange", "ChannelVarset", "PlaybackStarted", "PlaybackFinished",
               "ChannelDtmfReceived", "StasisEnd"];
ari.connect(url, "asterisk", "asterisk").then((client) => {
  let seen = 0;
  let start = 0;
  const handler = () => {
    seen += 1;
    if (seen === count) {
      const rate = count / (Number(process.hrtime.bigint() - start) / 1e9);
      console.log(String(rate));
      process.exit(0);
    }
  };
  for (const t of types) client.on(t, handler);
  start = process.hrtime.bigint();
  client.start("bench");
}).catch((err) => { console.error(err); process.exit(1); });

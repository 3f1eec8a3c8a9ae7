// node ari-client 2.2.0 on the mock server: channels.get one after another, in op/s.
const ari = require("ari-client");
const [url, countText] = process.argv.slice(2);
const count = Number(countText);
(async () => {
  const client = await ari.connect(url, "asterisk", "asterisk");
  for (let i = 0; i < 100; i++) await client.channels.get({ channelId: `w${i}` });
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await client.channels.get({ channelId: `c${i}` });
  console.log(String(count / (Number(process.hrtime.bigint() - start) / 1e9)));
  process.exit(0);
})().catch((err) => { console.error(err); process.exit(1); });

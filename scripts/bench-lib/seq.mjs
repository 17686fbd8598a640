// Sequential client for scripts/bench: N requests one after another on ONE keep-alive connection (node:http),
// each timed from just before the request is written to (a) the first body byte and (b) the end of the body.
// Raw per-request samples, no coordinated-omission correction (unlike wrk 4's percentiles). Used for the
// streaming time to first byte (`--stream`) and for the raw c=1 latency of non-streamed requests.
// Prints one JSON line: ms, nearest-rank percentiles.
//
//   node scripts/bench-lib/seq.mjs --url URL --body JSON [--stream] [--auth 'Bearer x'] [-n 200] [--warmup 20]
import http from "node:http";

const args = { n: 200, warmup: 20, auth: null, url: null, body: null, stream: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const flag = argv[i];
  if (flag === "--stream") { args.stream = true; continue; }
  const v = argv[++i];
  switch (flag) {
    case "--url": args.url = v; break;
    case "--body": args.body = v; break;
    case "--auth": args.auth = v; break;
    case "-n": args.n = Number(v); break;
    case "--warmup": args.warmup = Number(v); break;
    default: console.error(`unknown argument ${flag}`); process.exit(2);
  }
}
if (!args.url || !args.body) { console.error("--url and --body are required"); process.exit(2); }

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const url = new URL(args.url);
const body = Buffer.from(args.body);
const headers = { "content-type": "application/json", "content-length": body.length };
if (args.stream) headers.accept = "text/event-stream";
if (args.auth) headers.authorization = args.auth;

function once() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let first = null;
    let bytes = 0;
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers, agent },
      (res) => {
        res.on("data", (chunk) => {
          if (first === null && chunk.length > 0) first = process.hrtime.bigint();
          bytes += chunk.length;
        });
        res.on("end", () => {
          const done = process.hrtime.bigint();
          resolve({
            status: res.statusCode,
            ttfb_ms: Number((first ?? done) - t0) / 1e6,
            total_ms: Number(done - t0) / 1e6,
            bytes,
            sse: String(res.headers["content-type"] ?? "").startsWith("text/event-stream"),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const round = (x) => Math.round(x * 1000) / 1000;
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    p50: round(pct(s, 50)), p90: round(pct(s, 90)), p99: round(pct(s, 99)),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length), min: round(s[0]), max: round(s[s.length - 1]),
  };
};

for (let i = 0; i < args.warmup; i++) await once();
const ttfb = [], total = [];
let bad = 0, wrongType = 0, firstBad = null;
for (let i = 0; i < args.n; i++) {
  const r = await once();
  if (r.status !== 200) { bad++; firstBad ??= r.status; }
  if (r.sse !== args.stream) wrongType++;
  ttfb.push(r.ttfb_ms);
  total.push(r.total_ms);
}
agent.destroy();
console.log(JSON.stringify({
  n: args.n, stream: args.stream, non_200: bad, first_bad_status: firstBad, wrong_content_type: wrongType,
  ttfb_ms: summary(ttfb), total_ms: summary(total),
}));

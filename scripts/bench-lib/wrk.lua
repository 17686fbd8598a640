-- wrk script for scripts/bench. Configured from the environment:
--   BENCH_METHOD  GET | POST (default GET)
--   BENCH_BODY    request body (POST), sent with content-type: application/json
--   BENCH_AUTH    value of the Authorization header (optional)
--   BENCH_HEADERS extra headers, "name: value" separated by "\n" (optional)
-- done() prints one line `BENCHJSON {...}`: requests/s, latency percentiles in ms, wrk's error counts.
-- No response() callback: a per-response Lua call would cost the load generator throughput.
local method = os.getenv("BENCH_METHOD") or "GET"
wrk.method = method
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("BENCH_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"mean":%.3f,"max":%.3f},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.timeout, e.status))
end

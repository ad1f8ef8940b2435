-- wrk script of scripts/bench.sh, configured by environment variables:
--   BENCH_TOKEN      access token sent as `Authorization: Bearer` (none when empty)
--   BENCH_METHOD     request method (default GET)
--   BENCH_BODY_FILE  a file whose contents are the JSON request body
--   BENCH_IDS_FILE   a file of ids, one a line: each request asks for BENCH_PATH_PREFIX .. id,
--                    the id chosen at random (otherwise every request is the same, which keeps
--                    wrk at its fastest)
--   BENCH_PATH_PREFIX  see BENCH_IDS_FILE
-- At the end it prints one line, `BENCH_RESULT {json}`, which the driver reads.

local token = os.getenv("BENCH_TOKEN") or ""
wrk.method = os.getenv("BENCH_METHOD") or "GET"
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local body_file = os.getenv("BENCH_BODY_FILE") or ""
if body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

local ids_file = os.getenv("BENCH_IDS_FILE") or ""
if ids_file ~= "" then
  local ids = {}
  for line in io.lines(ids_file) do
    if line ~= "" then
      ids[#ids + 1] = line
    end
  end
  local prefix = os.getenv("BENCH_PATH_PREFIX") or "/"
  math.randomseed(os.time())
  -- Defined only here: wrk sends a fixed request, its fastest path, when there is no `request`.
  request = function()
    return wrk.format(nil, prefix .. ids[math.random(#ids)])
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end

-- wrk script for benches/run.sh and benches/ab.sh: POSTs the JSON body read from the file
-- named by $BENCH_BODY, counts responses by HTTP status (per wrk thread,
-- summed in done(); "0" counts 503s without Retry-After), and prints one
-- machine-readable line:
--   WRK_RESULT {"requests":...,"statuses":{"200":...,"503":...},"p50_us":...}
-- Set BENCH_COUNT_STATUS=0 to skip the per-response Lua callback (then only
-- wrk's own "non-2xx/3xx" count is available).

local path = os.getenv("BENCH_BODY")
if not path then
  error("BENCH_BODY (a JSON body file) is not set")
end
local file = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

if os.getenv("BENCH_COUNT_STATUS") ~= "0" then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    -- A 503 must tell the client when to retry; one that does not is
    -- counted under status 0.
    if status == 503 and not (headers["retry-after"] or headers["Retry-After"]) then
      statuses[0] = (statuses[0] or 0) + 1
    end
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    if type(s) == "table" then
      for code, n in pairs(s) do
        counts[code] = (counts[code] or 0) + n
      end
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,'
      .. '"status_errors":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"mean_us":%.1f,"statuses":{%s}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, table.concat(parts, ",")))
end

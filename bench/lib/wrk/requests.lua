-- wrk script: cycles through pre-generated requests and counts responses per status.
--
-- Environment (read by every wrk thread):
--   BENCH_REQS   file with one request per line: METHOD<TAB>PATH[<TAB>JSON body]
--   BENCH_TOKEN  Keystone token sent as X-Auth-Token
--   BENCH_BODY   "0" = do not hand response bodies to Lua (large downloads: wrk would buffer them)
--   BENCH_HEADERS  extra request headers, "Name: value" separated by "|" (noauth identity headers)
-- Prints BENCH lines on stdout at the end; bench.py parses them.

local token = os.getenv("BENCH_TOKEN") or ""
local extra = {}
for pair in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^|]+") do
  local k, v = pair:match("^%s*([^:]+):%s*(.-)%s*$")
  if k then extra[k] = v end
end
local want_body = os.getenv("BENCH_BODY") ~= "0"
local reqs = {}
local n_reqs = 0
local idx = 0
local threads = {}

-- per-thread counters (copied back to the main state by done())
statuses = {}
sample = ""

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_REQS"), "r"))
  for line in f:lines() do
    local method, path, body = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
    if method then
      local headers = {}
      if token ~= "" then headers["X-Auth-Token"] = token end
      for k, v in pairs(extra) do headers[k] = v end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      n_reqs = n_reqs + 1
      reqs[n_reqs] = wrk.format(method, path, headers, body)
    end
  end
  f:close()
  assert(n_reqs > 0, "no requests in " .. tostring(os.getenv("BENCH_REQS")))
  -- threads start at different places of the list
  idx = (tid or 0) * math.floor(n_reqs / 2 + 1)
end

function request()
  idx = idx + 1
  return reqs[(idx % n_reqs) + 1]
end

local function count(status, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and sample == "" then
    sample = tostring(status) .. " " .. (body or ""):sub(1, 400):gsub("[\r\n]", " ")
  end
end

if want_body then
  function response(status, headers, body)
    count(status, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d " ..
    "p50=%d p90=%d p99=%d max=%d mean=%.1f\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
    end
    local smp = t:get("sample")
    if smp and smp ~= "" then io.write("BENCH_SAMPLE " .. smp .. "\n") end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, tostring(k) .. "=" .. tostring(v)) end
  io.write("BENCH_STATUS " .. table.concat(parts, " ") .. "\n")
end

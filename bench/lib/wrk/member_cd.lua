-- wrk script: image member create + delete, alternating, as the image owner.
-- Each POST adds a new member (unique id) to one of the images listed in BENCH_IMAGES; a member is
-- deleted (DELETE) only after its creation answered 200, so the two never race.
--
-- Environment: BENCH_IMAGES (one image id a line), BENCH_TOKEN, BENCH_NONCE (makes member ids unique
-- across runs). Prints BENCH lines like requests.lua.

local token = os.getenv("BENCH_TOKEN") or ""
local nonce = os.getenv("BENCH_NONCE") or "0"
local images = {}
local n = 0
local queue, qhead, qtail = {}, 1, 0
local threads = {}
local hdr = { ["X-Auth-Token"] = token }
local hdr_json = { ["X-Auth-Token"] = token, ["Content-Type"] = "application/json" }

statuses = {}
sample = ""

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BENCH_IMAGES"), "r"))
  for line in f:lines() do
    if line ~= "" then table.insert(images, line) end
  end
  f:close()
  assert(#images > 0, "no images")
end

function request()
  n = n + 1
  if n % 2 == 0 and qtail >= qhead then
    local path = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    return wrk.format("DELETE", path, hdr)
  end
  local img = images[((n + (tid or 0) * 37) % #images) + 1]
  local member = string.format("bench-%s-%d-%d", nonce, tid or 0, n)
  return wrk.format("POST", "/v2/images/" .. img .. "/members", hdr_json,
                    '{"member": "' .. member .. '"}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    local img = body:match('"image_id":%s*"([^"]+)"')
    local m = body:match('"member_id":%s*"([^"]+)"')
    if img and m then
      qtail = qtail + 1
      queue[qtail] = "/v2/images/" .. img .. "/members/" .. m
    end
  elseif (status < 200 or status > 299) and sample == "" then
    sample = tostring(status) .. " " .. (body or ""):sub(1, 400):gsub("[\r\n]", " ")
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

-- wrk script: post pre-built multipart bodies in turn for the run's duration.
-- wrk's run lasts its -d duration whatever the script does, so the bodies must outnumber the
-- requests; when they run out the script starts again and counts the repeats in "wrapped".
-- Arguments (after --): bodies file, offsets file ("start length" per line), token, content type.
-- Prints one line "BENCH {json}" with the counts and latency percentiles (microseconds).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local data, offsets, index, sent = nil, {}, 0, 0
local headers = {}
statuses = {}
passes = 0
wrapped = 0

function init(args)
  local file = assert(io.open(args[1], "rb"))
  data = file:read("*a")
  file:close()
  for line in io.lines(args[2]) do
    local start, length = line:match("(%d+) (%d+)")
    offsets[#offsets + 1] = {tonumber(start), tonumber(length)}
  end
  headers["Authorization"] = args[3]
  headers["Content-Type"] = args[4]
end

function request()
  index = index + 1
  if index > #offsets then
    index = 1
  end
  sent = sent + 1
  if sent > #offsets then
    wrapped = wrapped + 1
  end
  local o = offsets[index]
  return wrk.format("POST", nil, headers, data:sub(o[1] + 1, o[1] + o[2]))
end

function response(status, _headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status == 200 and body:find('"decision":"pass"', 1, true) then
    passes = passes + 1
  end
end

function done(summary, latency, _requests)
  local codes, total_passes, total_wrapped = {}, 0, 0
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + count
    end
    total_passes = total_passes + thread:get("passes")
    total_wrapped = total_wrapped + thread:get("wrapped")
  end
  local parts = {}
  for code, count in pairs(codes) do
    parts[#parts + 1] = string.format('"%s":%d', code, count)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"errors":%d,"passes":%d,"wrapped":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.status + e.timeout, total_passes,
    total_wrapped, table.concat(parts, ",")))
end

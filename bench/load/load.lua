-- wrk script of the load benchmark (bench/load/run.py starts wrk with it).
--
--   wrk ... -s bench/load/load.lua URL -- METHOD PATH FIRST THREADS IDS_PREFIX [service:problem ...]
--
-- Every request comes from a client address of its own, named in X-Forwarded-For (the
-- server trusts 127.0.0.1 as its proxy): each in a /24 network of its own, spread over
-- 24,576 /16 blocks. Request n of thread t (of THREADS) is network FIRST + (n - 1) * THREADS
-- + t, so a run takes the networks from FIRST on, as many as its busiest thread's requests
-- times THREADS; done() prints that count ("networks") and how many networks it names
-- ("networks_named"), and run.py starts the next run after them. POSTs carry a
-- valid report body (the service:problem pairs are cycled). For every 201 the id in the
-- body is written to IDS_PREFIX.<thread>, so run.py can check that each one is a stored row.

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local method, path, first, nthreads, prefix
local bodies = {}
counter, created, others = 0, 0, 0
local ids

function init(args)
  method, path, prefix = args[1], args[2], args[5]
  first, nthreads = tonumber(args[3]), tonumber(args[4])
  for i = 6, #args do
    local service, problem = args[i]:match("([^:]+):([^:]+)")
    table.insert(bodies, string.format(
      '{"service":"%s","problem":"%s","country":"DE"}', service, problem))
  end
  if prefix ~= "-" then
    ids = assert(io.open(prefix .. "." .. tid, "w"))
    -- wrk never closes a thread's Lua state: line buffering loses no id at exit.
    ids:setvbuf("line")
  end
end

local BLOCKS = 96 * 256

function request()
  counter = counter + 1
  local m = first + (counter - 1) * nthreads + tid
  local block, net = m % BLOCKS, math.floor(m / BLOCKS) % 256
  local address = string.format("%d.%d.%d.%d",
    11 + math.floor(block / 256), block % 256, net, 1 + counter % 250)
  local headers = {
    ["X-Forwarded-For"] = address,
    ["X-Forwarded-Proto"] = "https",
  }
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    body = bodies[1 + counter % #bodies]
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    if ids then
      ids:write(body:match('"id":%s*(%d+)') or "?", "\n")
    end
  elseif status ~= 200 then
    others = others + 1
  end
end

function done(summary, latency, requests)
  local made, bad, most = 0, 0, 0
  for _, thread in ipairs(threads) do
    made = made + thread:get("created")
    bad = bad + thread:get("others")
    most = math.max(most, thread:get("counter"))
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
    .. '"max_us": %d, "created": %d, "bad_status": %d, "connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d, "networks": %d, "networks_named": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, made, bad, e.connect, e.read, e.write, e.status,
    e.timeout, most * #threads, BLOCKS * 256))
end

-- wrk script: each request is a distinct GitLab merge request hook (its own iid and Idempotency-Key) that
-- assigns the bot, so every accepted delivery must enqueue exactly one merge request.
-- WRK_REPLAY_FILE names a file of iids (one a line) whose deliveries landed: each thread re-sends its share of them,
-- with the same key and body, round and round; every one must come back as a duplicate.
local template = io.open(os.getenv("WEBHOOK_TEMPLATE")):read("*a")
local secret = os.getenv("WEBHOOK_SECRET")
local replay = {}
local replay_file = os.getenv("WRK_REPLAY_FILE")
if replay_file and replay_file ~= "" then
  for line in io.lines(replay_file) do
    if line ~= "" then table.insert(replay, tonumber(line)) end
  end
end
local run = tonumber(os.getenv("BENCH_RUN") or "1") -- distinct runs never share keys; a replay reuses its run's
local counter = 0
thread_id = 0 -- set per thread by setup(); a global, so thread:set reaches it
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local mine = nil -- this thread's share of the replay

function init(args)
  if #replay == 0 then return end
  mine = {}
  for i, iid in ipairs(replay) do
    if (i - 1) % 2 == thread_id - 1 or #replay == 1 then table.insert(mine, iid) end
  end
  if #mine == 0 then mine = { replay[1] } end
end

function request()
  counter = counter + 1
  local iid = mine and mine[((counter - 1) % #mine) + 1] or (run * 100000000 + thread_id * 10000000 + counter)
  local body = template:gsub("__IID__", tostring(iid))
  return wrk.format("POST", "/webhooks/gitlab", {
    ["Content-Type"] = "application/json",
    ["X-Gitlab-Event"] = "Merge Request Hook",
    ["X-Gitlab-Token"] = secret,
    ["Idempotency-Key"] = "bench-" .. iid,
  }, body)
end

-- In a replay, count what the orchestrator answered: 200 is a duplicate, 202 would be a delivery applied again.
fresh = 0
if #replay > 0 then
  function response(status, headers, body)
    if status == 202 then fresh = fresh + 1 end
  end
end

function done(summary, latency, requests)
  io.write(string.format("wrk: %d requests, %d non-2xx/3xx, %d errors, %.0f req/s, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  if #replay > 0 then
    local applied = 0
    for _, thread in ipairs(threads) do applied = applied + thread:get("fresh") end
    io.write(string.format("wrk: replay answered 202 (applied again) %d times\n", applied))
  end
end

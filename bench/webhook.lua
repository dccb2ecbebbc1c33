-- wrk script: each request is a distinct GitLab merge request hook (its own iid and Idempotency-Key) that
-- assigns the bot, so every accepted delivery must enqueue exactly one merge request.
-- WRK_REPLAY=1 re-sends the keys of a previous run: every one must come back as a duplicate.
local template = io.open(os.getenv("WEBHOOK_TEMPLATE")):read("*a")
local secret = os.getenv("WEBHOOK_SECRET")
local replay = os.getenv("WRK_REPLAY") == "1"
-- A replay cycles through the first WRK_REPLAY_KEYS keys of each thread: only keys the measured run surely sent
-- (a short run sends fewer than 1000 per thread, and a key it never sent would be a new delivery, not a replay).
local replay_keys = tonumber(os.getenv("WRK_REPLAY_KEYS") or "1000")
local run = tonumber(os.getenv("BENCH_RUN") or "1") -- distinct runs never share keys; a replay reuses its run's
local counter = 0
thread_id = 0 -- set per thread by setup(); a global, so thread:set reaches it
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local n = replay and (((counter - 1) % replay_keys) + 1) or counter
  local iid = run * 100000000 + thread_id * 10000000 + n
  local body = template:gsub("__IID__", tostring(iid))
  return wrk.format("POST", "/webhooks/gitlab", {
    ["Content-Type"] = "application/json",
    ["X-Gitlab-Event"] = "Merge Request Hook",
    ["X-Gitlab-Token"] = secret,
    ["Idempotency-Key"] = "bench-" .. iid,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("wrk: %d requests, %d non-2xx/3xx, %d errors, %.0f req/s, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end

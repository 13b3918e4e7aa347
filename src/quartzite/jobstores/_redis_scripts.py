"""The Lua scripts of :class:`~quartzite.jobstores.redis.RedisJobStore`.

Each script runs atomically on the server, which is what makes the store safe to share between
processes. Some scripts derive keys from a prefix passed in ``ARGV`` (the per-job run sets and
sorted sets): that is fine on a single Redis node, which is what the store supports (in Redis
Cluster every key would need one hash tag).

Run records live in the hash ``<jobs_key>.runs`` under the field ``"<job_id>\\n<repr(srt)>"``
(``srt``: scheduled run time as a UTC timestamp). The scripts never encode numbers as JSON
(Redis's cjson would round timestamps to 14 digits): Python builds every record, and scripts
either write it as given or compare it byte for byte with the stored one (compare-and-set).

Scripts whose effect a retry must not repeat (``take``/``commit``, ``recover``, ``request_run``)
keep their reply under a short-lived "done" key named by the caller, so a call retried after a
lost reply returns the first call's result instead of acting again.
"""

from __future__ import annotations

# Helpers shared by several scripts (prepended to them).
_COMMON = r"""
local function split_field(field)
  return string.match(field, '^(.*)\n([^\n]*)$')
end
local function drop_record(runs, by_job, all, finished, field)
  local job_id, srt = split_field(field)
  redis.call('HDEL', runs, field)
  redis.call('ZREM', all, field)
  redis.call('ZREM', finished, field)
  if job_id then redis.call('ZREM', by_job .. job_id, srt) end
end
"""

# KEYS: jobs hash, run times zset. ARGV: id, state, score ("" when paused), channel ("": none).
ADD = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], '') end
return 1
"""

# KEYS: jobs hash, run times zset. ARGV: id, state, score ("" when paused), channel ("": none).
UPDATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], '') end
return 1
"""

# KEYS: jobs hash, run times zset, quarantine hash. ARGV: id, raw state, record, field suffix.
# Keeps an earlier record of the same id under "ID#SUFFIX"; removes the job only if its state
# is still the bad one.
QUARANTINE = """
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[3]) == 0 then
  redis.call('HSET', KEYS[3], ARGV[1] .. '#' .. ARGV[4], ARGV[3])
end
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""

# First half of a claim: hold what is due, return it for Python to plan.
# KEYS: jobs, run times, claims, pending, pending claims, runs.
# ARGV: hold token ("scheduler_id|expires", unique to the claim), now, limit, retry ("1": a hold
# equal to the token is free: it is this claim's own, from an attempt whose reply was lost),
# running-set prefix, most due ids to look at.
# Returns {pending entries, job entries, more}: pending entries are field, record, job state,
# job score, running count; job entries are id, state, score, running count.
TAKE = r"""
local token, now, limit, retry = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1'
local running_prefix, max_scan = ARGV[5], tonumber(ARGV[6])

local function free(hash, field)
  local hold = redis.call('HGET', hash, field)
  if not hold then return true end
  if retry and hold == token then return true end
  local expires = tonumber(string.match(hold, '|([^|]*)$'))
  return expires == nil or expires <= now
end

local pending, more = {}, 0
local fields = redis.call('ZRANGE', KEYS[4], 0, limit - 1)
if #fields >= limit then more = 1 end
for _, field in ipairs(fields) do
  if free(KEYS[5], field) then
    local record = redis.call('HGET', KEYS[6], field)
    local job_id = string.match(field, '^(.*)\n[^\n]*$')
    if record and job_id then
      redis.call('HSET', KEYS[5], field, token)
      local n = #pending
      pending[n + 1] = field
      pending[n + 2] = record
      pending[n + 3] = redis.call('HGET', KEYS[1], job_id)
      pending[n + 4] = redis.call('ZSCORE', KEYS[2], job_id)
      pending[n + 5] = redis.call('SCARD', running_prefix .. job_id)
    else
      redis.call('ZREM', KEYS[4], field)  -- an index entry without its record
    end
  end
end

local jobs, taken, offset = {}, 0, 0
while taken < limit do
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT',
                         offset, limit)
  if #due == 0 then break end
  local removed = 0
  for i = 1, #due, 2 do
    local id = due[i]
    if taken < limit and free(KEYS[3], id) then
      local state = redis.call('HGET', KEYS[1], id)
      if state then
        redis.call('HSET', KEYS[3], id, token)
        local n = #jobs
        jobs[n + 1] = id
        jobs[n + 2] = state
        jobs[n + 3] = due[i + 1]
        jobs[n + 4] = redis.call('SCARD', running_prefix .. id)
        taken = taken + 1
      else
        -- a run time without its job (written by hand): it would be due forever
        redis.call('ZREM', KEYS[2], id)
        removed = removed + 1
      end
    end
  end
  offset = offset + #due / 2 - removed
  if taken < limit and offset >= max_scan then
    more = 1  -- many due jobs held by others: look again soon rather than scan on
    break
  end
end
if taken >= limit then more = 1 end
return {pending, jobs, more}
"""

# Second half of a claim: write what Python planned, only where the hold is still ours.
# KEYS: jobs, run times, claims, pending, pending claims, runs, all, finished, running, done.
# ARGV: token, by-job prefix, running-set prefix, #jobs, #pending, #release, #release pending,
# then per job: id, action (u: update, p: pause, r: remove), sha1 of the state taken, new state,
# score, #records, and per record: srt, status, record, index score (started/finished at);
# per pending: field, job id, srt, action (run, fin, del), record, index score;
# then the job ids and pending fields whose holds to give back.
# Returns JSON: {"jobs": [[id, [srt written...]]...], "pending": [field...]}.
COMMIT = (
    _COMMON
    + r"""
local done = redis.call('GET', KEYS[10])
if done then return done end
local token, by_job, running_prefix = ARGV[1], ARGV[2], ARGV[3]
local n_jobs, n_pending = tonumber(ARGV[4]), tonumber(ARGV[5])
local n_release, n_release_pending = tonumber(ARGV[6]), tonumber(ARGV[7])
local i = 8
local jobs_done, pending_done = {}, {}

for _ = 1, n_jobs do
  local id, action, sha, state, score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local n_records = tonumber(ARGV[i + 5])
  i = i + 6
  local held = redis.call('HGET', KEYS[3], id) == token
  local current = redis.call('HGET', KEYS[1], id)
  -- the state must be the one taken: a job changed or removed meanwhile is planned again
  local ours = held and current and redis.sha1hex(current) == sha
  if held then redis.call('HDEL', KEYS[3], id) end
  if ours then
    if action == 'r' then
      redis.call('HDEL', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
    else
      redis.call('HSET', KEYS[1], id, state)
      if action == 'p' or score == '' then
        redis.call('ZREM', KEYS[2], id)
      else
        redis.call('ZADD', KEYS[2], score, id)
      end
    end
  end
  local written = {}
  for _ = 1, n_records do
    local srt, status, record, index_score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
    i = i + 4
    local field = id .. '\n' .. srt
    -- an existing record means the occurrence was taken before: never take it twice
    if ours and redis.call('HSETNX', KEYS[6], field, record) == 1 then
      redis.call('ZADD', by_job .. id, srt, srt)
      redis.call('ZADD', KEYS[7], srt, field)
      if status == 'running' then
        redis.call('SADD', running_prefix .. id, srt)
        redis.call('ZADD', KEYS[9], index_score, field)
      else
        redis.call('ZADD', KEYS[8], index_score, field)
      end
      written[#written + 1] = srt
    end
  end
  if ours then jobs_done[#jobs_done + 1] = {id, written} end
end

for _ = 1, n_pending do
  local field, job_id, srt, action = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local record, index_score = ARGV[i + 4], ARGV[i + 5]
  i = i + 6
  if redis.call('HGET', KEYS[5], field) == token then
    redis.call('HDEL', KEYS[5], field)
    if redis.call('ZSCORE', KEYS[4], field) then
      redis.call('ZREM', KEYS[4], field)
      if action == 'del' then
        drop_record(KEYS[6], by_job, KEYS[7], KEYS[8], field)
      else
        redis.call('HSET', KEYS[6], field, record)
        if action == 'run' then
          redis.call('SADD', running_prefix .. job_id, srt)
          redis.call('ZADD', KEYS[9], index_score, field)
        else
          redis.call('ZADD', KEYS[8], index_score, field)
        end
      end
      pending_done[#pending_done + 1] = field
    end
  end
end

for _ = 1, n_release do
  if redis.call('HGET', KEYS[3], ARGV[i]) == token then redis.call('HDEL', KEYS[3], ARGV[i]) end
  i = i + 1
end
for _ = 1, n_release_pending do
  if redis.call('HGET', KEYS[5], ARGV[i]) == token then redis.call('HDEL', KEYS[5], ARGV[i]) end
  i = i + 1
end

local reply = cjson.encode({jobs = jobs_done, pending = pending_done})
redis.call('SET', KEYS[10], reply, 'EX', 60)
return reply
"""
)

# Hand running records of dead schedulers over (compare-and-set on the whole record).
# KEYS: runs, all, finished, running, schedulers, done.
# ARGV: by-job prefix, running-set prefix, now, #entries, then per entry: field, job id, srt,
# record read, its scheduler, check ("1": only if that scheduler is dead now), action (run, fin,
# del), new record, index score. Returns JSON: the fields handed over.
RECOVER = (
    _COMMON
    + r"""
local done = redis.call('GET', KEYS[6])
if done then return done end
local by_job, running_prefix, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local i, taken = 5, {}
for _ = 1, tonumber(ARGV[4]) do
  local field, job_id, srt, old = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local previous, check, action = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local record, index_score = ARGV[i + 7], ARGV[i + 8]
  i = i + 9
  if redis.call('HGET', KEYS[1], field) == old then
    local alive = false
    if check == '1' then
      local expires = redis.call('ZSCORE', KEYS[5], previous)
      alive = expires and tonumber(expires) >= now
    end
    if not alive then
      if action == 'run' then
        redis.call('HSET', KEYS[1], field, record)
        redis.call('ZADD', KEYS[4], index_score, field)
      else
        redis.call('SREM', running_prefix .. job_id, srt)
        redis.call('ZREM', KEYS[4], field)
        if action == 'del' then
          drop_record(KEYS[1], by_job, KEYS[2], KEYS[3], field)
        else
          redis.call('HSET', KEYS[1], field, record)
          redis.call('ZADD', KEYS[3], index_score, field)
        end
      end
      taken[#taken + 1] = field
    end
  end
end
local reply = cjson.encode(taken)
redis.call('SET', KEYS[6], reply, 'EX', 60)
return reply
"""
)

# Finish running records (compare-and-set on the whole record: still running, still ours).
# KEYS: runs, all, finished, running.
# ARGV: by-job prefix, running-set prefix, #entries, then per entry: field, job id, srt, record
# read, new record ("": delete it, history off), finished at. Returns how many were finished.
FINISH = (
    _COMMON
    + r"""
local by_job, running_prefix = ARGV[1], ARGV[2]
local i, count = 4, 0
for _ = 1, tonumber(ARGV[3]) do
  local field, job_id, srt, old, record, finished = ARGV[i], ARGV[i + 1], ARGV[i + 2],
    ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  i = i + 6
  if redis.call('HGET', KEYS[1], field) == old then
    redis.call('SREM', running_prefix .. job_id, srt)
    redis.call('ZREM', KEYS[4], field)
    if record == '' then
      drop_record(KEYS[1], by_job, KEYS[2], KEYS[3], field)
    else
      redis.call('HSET', KEYS[1], field, record)
      redis.call('ZADD', KEYS[3], finished, field)
    end
    count = count + 1
  end
end
return count
"""
)

# Retention by count: keep the newest ARGV[3] finished records of each job (never touching
# pending or running ones). KEYS: runs, all, finished, pending.
# ARGV: by-job prefix, running-set prefix, how many to keep, job ids...
TRIM = (
    _COMMON
    + r"""
local by_job, running_prefix, keep = ARGV[1], ARGV[2], tonumber(ARGV[3])
local removed = 0
for i = 4, #ARGV do
  local job_id, kept = ARGV[i], 0
  for _, srt in ipairs(redis.call('ZREVRANGE', by_job .. job_id, 0, -1)) do
    local field = job_id .. '\n' .. srt
    if redis.call('SISMEMBER', running_prefix .. job_id, srt) == 0
        and not redis.call('ZSCORE', KEYS[4], field) then
      kept = kept + 1
      if kept > keep then
        drop_record(KEYS[1], by_job, KEYS[2], KEYS[3], field)
        removed = removed + 1
      end
    end
  end
end
return removed
"""
)

# Retention by age: remove up to ARGV[3] records finished before ARGV[2].
# KEYS: runs, all, finished. ARGV: by-job prefix, cut-off, limit.
EXPIRE = (
    _COMMON
    + r"""
local fields = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
for _, field in ipairs(fields) do
  drop_record(KEYS[1], ARGV[1], KEYS[2], KEYS[3], field)
end
return #fields
"""
)

# Run-now: a pending record. KEYS: jobs, runs, all, pending, done.
# ARGV: job id, srt, by-job prefix, record, channel.
# Returns "missing" (no such job), "exists" (a record at that srt: try the next microsecond) or
# the srt written.
REQUEST_RUN = r"""
local done = redis.call('GET', KEYS[5])
if done then return done end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'missing' end
local field = ARGV[1] .. '\n' .. ARGV[2]
if redis.call('HSETNX', KEYS[2], field, ARGV[4]) == 0 then return 'exists' end
redis.call('ZADD', ARGV[3] .. ARGV[1], ARGV[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], field)
redis.call('ZADD', KEYS[4], ARGV[2], field)
redis.call('PUBLISH', ARGV[5], '')
redis.call('SET', KEYS[5], ARGV[2], 'EX', 60)
return ARGV[2]
"""

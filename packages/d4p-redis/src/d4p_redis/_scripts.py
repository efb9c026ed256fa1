"""The Lua steps that keep a run consistent: each runs atomically on the
server and writes nothing once the run is gone (its spec key deleted or
expired), so a late worker never re-creates keys of a finished run.

Every key a step creates joins the run's lease: it gets the spec key's
remaining lifetime, which the driver renews (:data:`RENEW`). A run whose
driver died therefore vanishes whole when its lease runs out, even keys
workers created after the driver's last renewal."""

from __future__ import annotations

__all__ = ["COMMIT", "HAND_BACK", "HEARTBEAT", "REGISTER", "RENEW", "SEAL"]

# `lease(key)`: give a key without a lifetime the spec's (KEYS[1]) remaining one.
_LEASE = """
local ttl = redis.call('PTTL', KEYS[1])
local leased = {}
local function lease(key)
  if ttl > 0 and not leased[key] then
    leased[key] = true
    if redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, ttl) end
  end
end
"""

# KEYS: spec, in_flight, completed, control, task_time
# ARGV: group, n_acks, (stream, id)*, n_adds, (stream, payload)*, n_reports,
#       payload*, counted_acks, counted_adds, idle_report, task_seconds,
#       task_cpu_seconds
# Acknowledges finished entries, adds their outputs and reports, and moves
# the in-flight counter, all or nothing. Returns the new in-flight count;
# -1 when an entry was already completed by another worker (its outputs are
# then dropped: each task's outputs are written once); -2 when the run is
# gone.
COMMIT = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
"""
    + _LEASE
    + """
local group = ARGV[1]
local i = 2
local n = tonumber(ARGV[i]); i = i + 1
for k = 1, n do
  local p = redis.call('XPENDING', ARGV[i], group, ARGV[i + 1], ARGV[i + 1], 1)
  if #p == 0 then return -1 end
  i = i + 2
end
i = 3
for k = 1, n do
  redis.call('XACK', ARGV[i], group, ARGV[i + 1])
  redis.call('XDEL', ARGV[i], ARGV[i + 1])
  i = i + 2
end
local m = tonumber(ARGV[i]); i = i + 1
for k = 1, m do
  redis.call('XADD', ARGV[i], '*', 'd', ARGV[i + 1])
  lease(ARGV[i])
  i = i + 2
end
local r = tonumber(ARGV[i]); i = i + 1
for k = 1, r do
  redis.call('XADD', KEYS[4], '*', 'd', ARGV[i])
  i = i + 1
end
local acked = tonumber(ARGV[i])
local added = tonumber(ARGV[i + 1])
local value = redis.call('INCRBY', KEYS[2], added - acked)
lease(KEYS[2])
if acked > 0 then
  redis.call('INCRBY', KEYS[3], acked)
  lease(KEYS[3])
  if tonumber(ARGV[i + 3]) > 0 then
    redis.call('HINCRBYFLOAT', KEYS[5], 's', ARGV[i + 3])
    redis.call('HINCRBYFLOAT', KEYS[5], 'c', ARGV[i + 4])
    lease(KEYS[5])
  end
  if value == 0 then redis.call('XADD', KEYS[4], '*', 'd', ARGV[i + 2]) end
end
if r > 0 or (acked > 0 and value == 0) then lease(KEYS[4]) end
return value
"""
)

# KEYS: spec, members, closing, commands stream prefix
# ARGV: group, heartbeat key prefix, heartbeat ms
# A new worker slot, or -1 when the run no longer takes workers, -2 when gone.
REGISTER = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
"""
    + _LEASE
    + """
local slot = redis.call('INCR', KEYS[2]) - 1
local stream = KEYS[4] .. slot
redis.call('XGROUP', 'CREATE', stream, ARGV[1], '0', 'MKSTREAM')
lease(stream)
local beat = tonumber(ARGV[3])
if ttl > 0 and ttl < beat then beat = ttl end
redis.call('SET', ARGV[2] .. slot, '1', 'PX', beat)
return slot
"""
)

# KEYS: spec, members, closing. No more workers may join; returns the slots.
SEAL = (
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
"""
    + _LEASE
    + """
redis.call('SET', KEYS[3], '1')
lease(KEYS[3])
return tonumber(redis.call('GET', KEYS[2]) or '0')
"""
)

# KEYS: spec, heartbeat key; ARGV: ms. A heartbeat never outlives the run.
HEARTBEAT = """
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
local beat = tonumber(ARGV[1])
if ttl > 0 and ttl < beat then beat = ttl end
redis.call('SET', KEYS[2], '1', 'PX', beat)
return 1
"""

# KEYS: spec, members, then every other key to renew (RunKeys.leased)
# ARGV: lease ms, commands stream prefix
# Renews the lease of every key of the run, the commands streams of every
# slot handed out included; 0 when the run is gone (its lease ran out).
RENEW = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
local members = tonumber(redis.call('GET', KEYS[2]) or '0')
for slot = 0, members - 1 do redis.call('PEXPIRE', ARGV[2] .. slot, ARGV[1]) end
return 1
"""

# KEYS: spec, tasks stream; ARGV: group, consumer, died ("1"/"0"), ids*.
# Hands back entries the consumer read and did not commit — all of them
# (no ids: the worker died or left) or the given ones that are still its
# own (a live worker giving work away): each is acknowledged, deleted and
# added again as a new entry (any worker reads it next), all at once. A
# later commit of one of them by that worker finds it no longer pending
# (refused). With died = "1", each moved entry's field `h` (workers that
# died holding it) goes up by one. Counted in flight already, they stay
# counted. Returns how many moved.
HAND_BACK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
local moved = 0
local function move(id)
  local found = redis.call('XRANGE', KEYS[2], id, id)
  redis.call('XACK', KEYS[2], ARGV[1], id)
  redis.call('XDEL', KEYS[2], id)
  if #found == 0 then return end
  local fields, copy, deaths = found[1][2], {}, 0
  for j = 1, #fields, 2 do
    if fields[j] == 'h' then
      deaths = tonumber(fields[j + 1]) or 0
    else
      copy[#copy + 1] = fields[j]
      copy[#copy + 1] = fields[j + 1]
    end
  end
  if ARGV[3] == '1' then deaths = deaths + 1 end
  if deaths > 0 then
    copy[#copy + 1] = 'h'
    copy[#copy + 1] = tostring(deaths)
  end
  redis.call('XADD', KEYS[2], '*', unpack(copy))
  moved = moved + 1
end
if #ARGV > 3 then
  for k = 4, #ARGV do
    if #redis.call('XPENDING', KEYS[2], ARGV[1], ARGV[k], ARGV[k], 1, ARGV[2]) > 0 then
      move(ARGV[k])
    end
  end
  return moved
end
while true do
  local pending = redis.call('XPENDING', KEYS[2], ARGV[1], '-', '+', 100, ARGV[2])
  if #pending == 0 then break end
  for _, entry in ipairs(pending) do move(entry[1]) end
end
return moved
"""

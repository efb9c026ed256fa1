"""The Lua steps that keep a run consistent: each runs atomically on the
server and writes nothing once the run is gone (its spec key deleted), so a
late worker never re-creates keys of a finished run."""

from __future__ import annotations

__all__ = ["COMMIT", "REGISTER", "SEAL"]

# KEYS: spec, in_flight, completed, control
# ARGV: group, n_acks, (stream, id)*, n_adds, (stream, payload)*, n_reports,
#       payload*, counted_acks, counted_adds, idle_report
# Acknowledges finished entries, adds their outputs and reports, and moves
# the in-flight counter, all or nothing. Returns the new in-flight count;
# -1 when an entry was already completed by another worker (its outputs are
# then dropped: each task's outputs are written once); -2 when the run is
# gone.
COMMIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
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
if acked > 0 then
  redis.call('INCRBY', KEYS[3], acked)
  if value == 0 then redis.call('XADD', KEYS[4], '*', 'd', ARGV[i + 2]) end
end
return value
"""

# KEYS: spec, members, closing, commands stream
# ARGV: group, heartbeat key, heartbeat ms
# A new worker slot, or -1 when the run no longer takes workers, -2 when gone.
REGISTER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local slot = redis.call('INCR', KEYS[2]) - 1
local stream = KEYS[4] .. slot
redis.call('XGROUP', 'CREATE', stream, ARGV[1], '0', 'MKSTREAM')
redis.call('SET', ARGV[2] .. slot, '1', 'PX', ARGV[3])
return slot
"""

# KEYS: spec, members, closing. No more workers may join; returns the slots.
SEAL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -2 end
redis.call('SET', KEYS[3], '1')
return tonumber(redis.call('GET', KEYS[2]) or '0')
"""

# KEYS: spec, heartbeat key; ARGV: ms
HEARTBEAT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
return 1
"""

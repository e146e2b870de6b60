//! The server-side scripts of the bus: each runs atomically in Redis, so
//! an append, its id maps and the trim are one step.

/// Appends a batch (`ARGV[3..]`: six values per event: kind, data, topics,
/// private, supplied id, retry; empty for none) only while the epoch key still
/// names the caller's epoch; returns the entry ids in order. One script run
/// appends the whole batch, so under load a round trip and a script call
/// carry many events. A supplied id is chained to its previous occurrence
/// (`ids-first` → oldest seq, `ids-next` seq → next seq, `ids-last` →
/// newest seq); trimming past an entry moves its id's `ids-first` on. While
/// no supplied id is held the stream is trimmed approximately, which is
/// cheapest; otherwise exactly, reading what it trims.
pub(super) const PUBLISH: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('EPOCH the bus history was reset')
end
local ids = {}
for i = 3, #ARGV, 6 do
  local f = {'d', ARGV[i + 1]}
  if ARGV[i] ~= '' then f[#f + 1] = 'k'; f[#f + 1] = ARGV[i] end
  if ARGV[i + 2] ~= '' then f[#f + 1] = 't'; f[#f + 1] = ARGV[i + 2] end
  if ARGV[i + 3] == '1' then f[#f + 1] = 'p'; f[#f + 1] = '1' end
  local sid = ARGV[i + 4]
  if sid ~= '' then f[#f + 1] = 'i'; f[#f + 1] = sid end
  if ARGV[i + 5] ~= '' then f[#f + 1] = 'r'; f[#f + 1] = ARGV[i + 5] end
  local id = redis.call('XADD', KEYS[2], '0-*', unpack(f))
  ids[#ids + 1] = id
  if sid ~= '' then
    local seq = string.sub(id, 3)
    local last = redis.call('HGET', KEYS[4], sid)
    if last then
      redis.call('HSET', KEYS[5], last, seq)
    else
      redis.call('HSET', KEYS[3], sid, seq)
    end
    redis.call('HSET', KEYS[4], sid, seq)
  end
end
local max = tonumber(ARGV[2])
if redis.call('HLEN', KEYS[3]) == 0 then
  redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', max)
  return ids
end
local over = redis.call('XLEN', KEYS[2]) - max
if over > 0 then
  local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', over)
  for _, e in ipairs(old) do
    local seq = string.sub(e[1], 3)
    for j = 1, #e[2], 2 do
      if e[2][j] == 'i' then
        local sid = e[2][j + 1]
        local nxt = redis.call('HGET', KEYS[5], seq)
        if nxt then
          redis.call('HSET', KEYS[3], sid, nxt)
          redis.call('HDEL', KEYS[5], seq)
        else
          redis.call('HDEL', KEYS[3], sid)
          redis.call('HDEL', KEYS[4], sid)
        end
      end
    end
  end
  local newest_old = tonumber(string.sub(old[#old][1], 3))
  redis.call('XTRIM', KEYS[2], 'MINID', '0-' .. (newest_old + 1))
end
return ids
";

/// Most events one script run appends: a larger batch is appended by
/// several runs, in order, so no single request grows without bound.
pub(super) const APPEND_CHUNK: usize = 256;

/// Returns the bus's epoch, creating it (and dropping any stream and id
/// maps of an older history) when there is none.
pub(super) const INIT: &str = r"
local e = redis.call('GET', KEYS[1])
if not e then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  redis.call('SET', KEYS[1], ARGV[1])
  e = ARGV[1]
end
return e
";

/// Replaces the epoch `ARGV[1]`, if still current, with `ARGV[2]`, an
/// empty stream and empty id maps.
pub(super) const RESTART: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
";

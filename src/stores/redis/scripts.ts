/**
 * The Lua scripts of the Redis adapter. Each runs atomically in Redis (no
 * other command runs between its reads and writes), touches one key, takes
 * that key in `KEYS` and every value in `ARGV`: no data is ever spliced into
 * Lua source, and nothing is decoded in Lua (records stay opaque JSON text;
 * versions and generations are integer strings made in JavaScript).
 *
 * Every script that writes is safe to run twice. ioredis re-sends a command
 * whose reply was lost when the connection dropped (its default
 * `autoResendUnfulfilledCommands`), so a script may run once before the drop
 * and again after the reconnect. A write and a consume carry a random id and
 * recognise themselves, so the second run answers like the first and changes
 * nothing; a replace is ordered by generation; a restore only undoes the
 * consume it names; a clear only deletes the generation it saw.
 */
import { createHash } from 'node:crypto';
import { MfaError } from '../../errors.ts';
import type { RedisClient } from './client.ts';

/** A Lua script and its SHA-1, the name Redis caches it under. */
export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

function lua(source: string): LuaScript {
  return { lua: source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * A user record is a hash: `v` the version, `r` the record's JSON, `w` the id
 * of the write that made this version, `u` the user id (for a scan; absent
 * in hashes written before twofold kept it, until their next write).
 * KEYS[1] the user's key; ARGV[1] the expected version ('' for "no record"),
 * ARGV[2] the new version, ARGV[3] the JSON, ARGV[4] this write's id,
 * ARGV[5] the user id.
 * Returns 1 when written (or when this very write already was), else 0.
 */
export const PUT = lua(`
local version = redis.call('HGET', KEYS[1], 'v')
if version == ARGV[2] and redis.call('HGET', KEYS[1], 'w') == ARGV[4] then
  return 1
end
if ARGV[1] == '' then
  if version then return 0 end
elseif version ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3], 'w', ARGV[4], 'u', ARGV[5])
return 1
`);

/**
 * A code set is a hash: `g` its generation, and one field per code hash whose
 * value is '0' while unused, then the id of the consume that used it.
 * KEYS[1] the set's key; ARGV[1] the hash, ARGV[2] this consume's id.
 * Returns 1 when this consume used the hash (now or on an earlier run), else 0.
 */
export const CONSUME = lua(`
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state == '0' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
if state == ARGV[2] then return 1 end
return 0
`);

/**
 * KEYS[1] the set's key; ARGV[1] the hash, ARGV[2] the id of the consume to
 * undo ('' for whichever used it). Returns 1 when the hash became unused.
 */
export const RESTORE = lua(`
local state = redis.call('HGET', KEYS[1], ARGV[1])
if not state or state == '0' then return 0 end
if ARGV[2] ~= '' and state ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '0')
return 1
`);

/**
 * KEYS[1] the set's key; ARGV[1] the new generation, ARGV[2..] the hashes.
 * Replaces the whole set when the generation is greater than the stored one
 * (or none is stored); returns 1 then, else 0 and changes nothing.
 */
export const REPLACE = lua(`
local stored = redis.call('HGET', KEYS[1], 'g')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'g', ARGV[1])
for i = 2, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], '0')
end
return 1
`);

/** KEYS[1] the set's key. Returns how many hashes are unused. */
export const COUNT_UNUSED = lua(`
local fields = redis.call('HGETALL', KEYS[1])
local unused = 0
for i = 1, #fields, 2 do
  if fields[i] ~= 'g' and fields[i + 1] == '0' then unused = unused + 1 end
end
return unused
`);

/**
 * KEYS[1] the set's key; ARGV[1] the generation read just before. Deletes
 * the set (and its generation) only if it is still that generation, so a
 * clear sent again after a reconnect cannot delete a newer set.
 */
export const CLEAR = lua(`
if redis.call('HGET', KEYS[1], 'g') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`);

/**
 * Run `script` by its SHA-1 (EVALSHA), sending the source (EVAL) only when
 * the server does not have it cached (after a restart or SCRIPT FLUSH):
 * NOSCRIPT means nothing ran, so the EVAL is the script's only run. Keys go
 * in `KEYS`, so the client's own `keyPrefix` and Cluster routing apply.
 */
export async function runScript(client: RedisClient, script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return client.eval(script.lua, keys.length, ...keys, ...args);
  }
}

/** A script's 0 or 1 as a boolean; anything else breaks the store's contract. */
export function flag(reply: unknown, what: string): boolean {
  if (reply === 1) return true;
  if (reply === 0) return false;
  throw new MfaError('store_contract', `Redis answered ${what} with something other than 0 or 1`);
}

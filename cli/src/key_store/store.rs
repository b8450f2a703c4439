//! The key store in Redis as the CLI writes it: one Lua script per change (EVALSHA), so each
//! is atomic, and `keys import` sends its scripts in batches.

use std::time::Duration;

use tollgate_core::config::ApiKey;
use tollgate_core::keystore::{
    self, field, format_enabled, format_plans, StoredKey, CHANGES_KEY, FLOOR_KEY, MAX_CHANGES,
    RECORD_PREFIX, VERSION_KEY,
};

use crate::key_file::{self, FileKey};

/// Keys one `keys import` script call imports.
const KEYS_PER_CALL: usize = 100;
/// Script calls `keys import` sends at once.
const CALLS_PER_TRIP: usize = 10;
/// Keys `keys list` reads per round trip.
const BATCH: usize = 1_000;

/// The change feed, prepended to the scripts that change an existing key. KEYS[1..3]: the
/// version, the changes, the floor; ARGV[1]: the changes kept. `changed(hash)` raises the
/// version, scores the key with it, trims the feed to the newest ARGV[1] and raises the floor
/// to the highest version trimmed.
const FEED: &str = r"
local function changed(hash)
  local version = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], version, hash)
  local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[1])
  if over > 0 then
    local last = redis.call('ZRANGE', KEYS[2], over - 1, over - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
    if tonumber(last[2]) > tonumber(redis.call('GET', KEYS[3]) or '0') then
      redis.call('SET', KEYS[3], last[2])
    end
  end
end
";

/// KEYS: the record, the id index. ARGV: hash, id, name, description, enabled, plans,
/// created. Returns 0 (created), 1 (the id is taken) or 2 (the value is).
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
redis.call('HSET', KEYS[1], 'id', ARGV[2], 'enabled', ARGV[5], 'plans', ARGV[6],
  'name', ARGV[3], 'description', ARGV[4], 'created', ARGV[7])
redis.call('SET', KEYS[2], ARGV[1])
return 0
";

/// After [`FEED`]. KEYS[4]: the id index. ARGV[2]: the record prefix, ARGV[3]: `true` or
/// `false`. Returns 0 (no such key), 1 (already so) or 2 (changed).
const SET_ENABLED: &str = r"
local hash = redis.call('GET', KEYS[4])
if not hash then return 0 end
local record = ARGV[2] .. hash
if redis.call('EXISTS', record) == 0 then return 0 end
if redis.call('HGET', record, 'enabled') == ARGV[3] then return 1 end
redis.call('HSET', record, 'enabled', ARGV[3])
changed(hash)
return 2
";

/// After [`FEED`]. KEYS[4]: the id index. ARGV[2]: the record prefix. Returns 0 (no such key)
/// or 1 (deleted: the record and the id index).
const DELETE: &str = r"
local hash = redis.call('GET', KEYS[4])
if not hash then return 0 end
redis.call('DEL', ARGV[2] .. hash, KEYS[4])
changed(hash)
return 1
";

/// After [`FEED`]. KEYS[4]: the id index, KEYS[5]: the record. ARGV[2]: the hash, ARGV[3]: the
/// plans the change was made from, ARGV[4]: the new plans. Returns 0 (no such key), 1 (its
/// plans changed meanwhile), 2 (already so) or 3 (changed).
const SET_PLANS: &str = r"
if redis.call('GET', KEYS[4]) ~= ARGV[2] or redis.call('EXISTS', KEYS[5]) == 0 then return 0 end
if (redis.call('HGET', KEYS[5], 'plans') or '') ~= ARGV[3] then return 1 end
if ARGV[3] == ARGV[4] then return 2 end
redis.call('HSET', KEYS[5], 'plans', ARGV[4])
changed(ARGV[2])
return 3
";

/// After [`FEED`]: several keys of a key file. KEYS[4..]: per key its record, the index of the
/// id its name would be and the index of its fallback id. ARGV[2]: when created; ARGV[3..]: per
/// key its hash, its name as an id (empty: the name is no id), its fallback id, name,
/// description, enabled, plans. A key already there keeps its id and takes the name,
/// description, state and plans (a change to the state or plans enters the feed); a new key is
/// named after its name when that id is free, else the fallback. Per key: 0 (both ids are
/// taken), 1 (created), 2 (updated, no change the filters see) or 3 (updated and changed).
const IMPORT: &str = r"
local out = {}
for k = 0, (#KEYS - 3) / 3 - 1 do
  local record, named, fallback = KEYS[4 + 3 * k], KEYS[5 + 3 * k], KEYS[6 + 3 * k]
  local a = 3 + 7 * k
  local hash, name_id, fallback_id = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local name, description, enabled, plans = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local answer = 1
  if redis.call('EXISTS', record) == 1 then
    local old = redis.call('HMGET', record, 'enabled', 'plans')
    redis.call('HSET', record, 'name', name, 'description', description, 'enabled', enabled,
      'plans', plans)
    answer = 2
    if old[1] ~= enabled or old[2] ~= plans then
      changed(hash)
      answer = 3
    end
  else
    local id, index = fallback_id, fallback
    if name_id ~= '' and redis.call('EXISTS', named) == 0 then
      id, index = name_id, named
    elseif redis.call('EXISTS', fallback) == 1 then
      answer = 0
    end
    if answer == 1 then
      redis.call('HSET', record, 'id', id, 'enabled', enabled, 'plans', plans,
        'name', name, 'description', description, 'created', ARGV[2])
      redis.call('SET', index, hash)
    end
  end
  out[k + 1] = answer
end
return out
";

/// What `keys import` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub added: usize,
    /// Keys already there (by value), whatever changed.
    pub updated: usize,
    /// Of those, the ones whose state or plans changed (in the change feed).
    pub changed: usize,
}

/// A key as `keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub plans: String,
}

/// A connection to the key store.
pub struct Store {
    con: redis::Connection,
    /// Where it is, for messages (no password).
    at: String,
}

fn failed(at: &str, e: redis::RedisError) -> String {
    format!("the key store at {at}: {e}")
}

fn feed_script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{FEED}{body}"))
}

/// A call of a feed script about key `id`: the change feed's keys, the key's id, and the
/// feed's length as the first argument, as every such script reads them.
fn feed_call<'s>(script: &'s redis::Script, id: &str) -> redis::ScriptInvocation<'s> {
    let mut call = script.key(VERSION_KEY);
    call.key(CHANGES_KEY).key(FLOOR_KEY).key(keystore::id_key(id)).arg(MAX_CHANGES);
    call
}

impl Store {
    pub fn open(url: &str) -> Result<Store, String> {
        if !url.starts_with("redis://") {
            return Err("a key store is named redis://HOST:PORT[/DB]".into());
        }
        let client = redis::Client::open(url).map_err(|e| format!("the key store: {e}"))?;
        let info = client.get_connection_info();
        let at = format!("redis://{}/{}", info.addr, info.redis.db);
        let con = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .map_err(|e| format!("the key store at {at}: {e}"))?;
        con.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| format!("the key store at {at}: {e}"))?;
        Ok(Store { con, at })
    }

    /// Creates a key; its id and its value must both be new.
    pub fn create(&mut self, key: &ApiKey, description: &str, created: u64) -> Result<(), String> {
        let answer: i64 = redis::Script::new(CREATE)
            .key(keystore::record_key(&key.value_sha256))
            .key(keystore::id_key(&key.id))
            .arg(&key.value_sha256)
            .arg(&key.id)
            .arg(&key.name)
            .arg(description)
            .arg(format_enabled(key.enabled))
            .arg(format_plans(&key.usage_plan_ids))
            .arg(created)
            .invoke(&mut self.con)
            .map_err(|e| failed(&self.at, e))?;
        match answer {
            0 => Ok(()),
            1 => Err(format!("API key `{}` already exists", key.id)),
            _ => Err("an API key with this value already exists".into()),
        }
    }

    /// Enables or disables key `id`; whether that changed anything.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> Result<bool, String> {
        let answer: i64 = feed_call(&feed_script(SET_ENABLED), id)
            .arg(RECORD_PREFIX)
            .arg(format_enabled(enabled))
            .invoke(&mut self.con)
            .map_err(|e| failed(&self.at, e))?;
        match answer {
            0 => Err(format!("no API key `{id}`")),
            n => Ok(n == 2),
        }
    }

    /// Deletes key `id`: its record and its id.
    pub fn delete(&mut self, id: &str) -> Result<(), String> {
        let answer: i64 = feed_call(&feed_script(DELETE), id)
            .arg(RECORD_PREFIX)
            .invoke(&mut self.con)
            .map_err(|e| failed(&self.at, e))?;
        match answer {
            0 => Err(format!("no API key `{id}`")),
            _ => Ok(()),
        }
    }

    /// Key `id`: its SHA-256 hex and its record.
    pub fn get(&mut self, id: &str) -> Result<(String, StoredKey), String> {
        let missing = || format!("no API key `{id}`");
        let hash: Option<String> = redis::cmd("GET")
            .arg(keystore::id_key(id))
            .query(&mut self.con)
            .map_err(|e| failed(&self.at, e))?;
        let hash = hash.ok_or_else(missing)?;
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(keystore::record_key(&hash))
            .query(&mut self.con)
            .map_err(|e| failed(&self.at, e))?;
        let key = StoredKey::from_fields(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Ok((hash, key.ok_or_else(missing)?))
    }

    /// Sets the plans of key `id` (SHA-256 `hash`) from `from` to `to`, unless they changed
    /// since they were read.
    pub fn set_plans(
        &mut self,
        (id, hash): (&str, &str),
        from: &[String],
        to: &[String],
    ) -> Result<(), String> {
        let answer: i64 = feed_call(&feed_script(SET_PLANS), id)
            .key(keystore::record_key(hash))
            .arg(hash)
            .arg(format_plans(from))
            .arg(format_plans(to))
            .invoke(&mut self.con)
            .map_err(|e| failed(&self.at, e))?;
        match answer {
            0 => Err(format!("no API key `{id}`")),
            1 => Err(format!("API key `{id}` changed meanwhile: run the command again")),
            _ => Ok(()),
        }
    }

    /// Imports the file's keys: [`KEYS_PER_CALL`] per script call, [`CALLS_PER_TRIP`] calls
    /// per round trip. Each call is atomic; an import that stops midway can be run again (a
    /// key already there is updated, not added twice).
    pub fn import(&mut self, keys: &[FileKey], created: u64) -> Result<Imported, String> {
        let script = feed_script(IMPORT);
        script.prepare_invoke().load(&mut self.con).map_err(|e| failed(&self.at, e))?;
        let mut done = Imported::default();
        // The first key of the file with no free id.
        let mut no_id: Option<&FileKey> = None;
        let mut refused = 0;
        for trip in keys.chunks(KEYS_PER_CALL * CALLS_PER_TRIP) {
            let mut pipe = redis::pipe();
            for call in trip.chunks(KEYS_PER_CALL) {
                import_call(&mut pipe, script.get_hash(), call, created);
            }
            let answers: Vec<Vec<i64>> = pipe.query(&mut self.con).map_err(|e| {
                let line = trip.first().map_or(0, |k| k.line);
                format!(
                    "{} ({} keys added and {} updated before line {line}; importing the file \
                     again is safe)",
                    failed(&self.at, e),
                    done.added,
                    done.updated
                )
            })?;
            for (key, answer) in trip.iter().zip(answers.into_iter().flatten()) {
                match answer {
                    0 => {
                        no_id = no_id.or(Some(key));
                        refused += 1;
                    }
                    1 => done.added += 1,
                    2 => done.updated += 1,
                    _ => {
                        done.updated += 1;
                        done.changed += 1;
                    }
                }
            }
        }
        match no_id {
            None => Ok(done),
            Some(key) => Err(format!(
                "imported {} new API keys, updated {}; {refused} keys have no free id (line {}: \
                 its name is no free id and `{}` is taken)",
                done.added,
                done.updated,
                key.line,
                key_file::fallback_id(key)
            )),
        }
    }

    /// Every key, sorted by id.
    pub fn list(&mut self) -> Result<Vec<Listed>, String> {
        let pattern = format!("{RECORD_PREFIX}*");
        let records: Vec<String> = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(BATCH)
            .clone()
            .iter(&mut self.con)
            .map_err(|e| failed(&self.at, e))?
            .collect();
        let mut out = Vec::with_capacity(records.len());
        for batch in records.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for record in batch {
                pipe.cmd("HMGET")
                    .arg(record)
                    .arg(field::ID)
                    .arg(field::ENABLED)
                    .arg(field::PLANS)
                    .arg(field::NAME);
            }
            type Row = (Option<String>, Option<String>, Option<String>, Option<String>);
            let rows: Vec<Row> = pipe.query(&mut self.con).map_err(|e| failed(&self.at, e))?;
            for (id, enabled, plans, name) in rows {
                // A record deleted since the scan has no fields left.
                let Some(id) = id else { continue };
                out.push(Listed {
                    id,
                    name: name.unwrap_or_default(),
                    enabled: enabled.as_deref() == Some(format_enabled(true)),
                    plans: plans.unwrap_or_default(),
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// One `IMPORT` call for `keys` (EVALSHA of the script loaded as `sha`).
fn import_call(pipe: &mut redis::Pipeline, sha: &str, keys: &[FileKey], created: u64) {
    let ids: Vec<(&str, String)> = keys
        .iter()
        .map(|k| {
            let named = if key_file::name_is_id(k) { k.name.as_str() } else { "" };
            (named, key_file::fallback_id(k))
        })
        .collect();
    pipe.cmd("EVALSHA").arg(sha).arg(3 + 3 * keys.len());
    pipe.arg(VERSION_KEY).arg(CHANGES_KEY).arg(FLOOR_KEY);
    for (key, (named, fallback)) in keys.iter().zip(&ids) {
        let index = if named.is_empty() { fallback.as_str() } else { named };
        pipe.arg(keystore::record_key(&key.value_sha256))
            .arg(keystore::id_key(index))
            .arg(keystore::id_key(fallback));
    }
    pipe.arg(MAX_CHANGES).arg(created);
    for (key, (named, fallback)) in keys.iter().zip(&ids) {
        pipe.arg(&key.value_sha256)
            .arg(*named)
            .arg(fallback)
            .arg(&key.name)
            .arg(&key.description)
            .arg(format_enabled(key.enabled))
            .arg(format_plans(&key.usage_plan_ids));
    }
}

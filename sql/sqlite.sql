-- twofold: the tables of the SQLite adapter (twofold/adapters/sqlite), table prefix "twofold_".
-- migrationSql("twofold_") returns this text; migrate() runs the same statements in one
-- BEGIN IMMEDIATE transaction, so processes that migrate at the same time take turns.
-- Every statement is idempotent. STRICT tables need SQLite 3.37 or later.
-- The stores also need the database file in WAL mode (PRAGMA journal_mode = WAL, kept in
-- the file) and a busy timeout on every connection (PRAGMA busy_timeout = 5000).

-- One MFA record per user. user_key is SHA-256 of the UTF-8 user id (32 bytes), so any id
-- (NULs, 10 KB) keys a row. record is the JSON text of the record, exactly as written.
-- version counts writes from 1; each write is a compare-and-set on it. user_id is the id
-- itself (its UTF-8 bytes), written with every record so that a maintenance walk
-- (UserStore.scan) can name each user; NULL in rows written before twofold kept it.
-- Tables created before user_id existed: migrate() adds it; by hand, once:
-- ALTER TABLE "twofold_users" ADD COLUMN user_id BLOB;
CREATE TABLE IF NOT EXISTS "twofold_users" (
  user_key BLOB NOT NULL PRIMARY KEY CHECK (length(user_key) = 32),
  record TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  user_id BLOB
) STRICT, WITHOUT ROWID;

-- The generation of each user's recovery-code set: a replace applies only if its
-- generation is greater. A row may have no codes (an empty set).
CREATE TABLE IF NOT EXISTS "twofold_recovery_code_sets" (
  user_key BLOB NOT NULL PRIMARY KEY CHECK (length(user_key) = 32),
  generation INTEGER NOT NULL CHECK (generation >= 0)
) STRICT, WITHOUT ROWID;

-- The codes of the set, one row each, in the order given: hash is the 32-byte SHA-256 or
-- HMAC-SHA256, unused while used_at (ms since epoch) is NULL. A replace rewrites the
-- user's rows and set row in one transaction.
CREATE TABLE IF NOT EXISTS "twofold_recovery_codes" (
  user_key BLOB NOT NULL CHECK (length(user_key) = 32),
  position INTEGER NOT NULL CHECK (position >= 0),
  hash BLOB NOT NULL CHECK (length(hash) = 32),
  used_at INTEGER,
  PRIMARY KEY (user_key, position)
) STRICT, WITHOUT ROWID;

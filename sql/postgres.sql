-- twofold: the tables of the PostgreSQL adapter (twofold/adapters/postgres) in schema "public".
-- migrationSql("public") returns this text and migrate() runs it. Every statement is
-- idempotent; run it as one transaction (psql --single-transaction -f ...) so that the
-- advisory lock serialises app servers that migrate at the same time.

SELECT pg_advisory_xact_lock(32782417642089572); -- key: the ASCII bytes of 'twofold'

-- One MFA record per user. user_key is SHA-256 of the UTF-8 user id, so any id (NULs,
-- 10 KB) keys a row; in SQL: sha256(convert_to(user_id, 'UTF8')). record is the JSON
-- text of the record, as text: jsonb would reject the escaped NUL "\u0000" that a
-- record may hold. version counts writes from 1; each write is a compare-and-set on it.
CREATE TABLE IF NOT EXISTS "public".twofold_users (
  user_key bytea PRIMARY KEY CHECK (octet_length(user_key) = 32),
  record text NOT NULL,
  version bigint NOT NULL CHECK (version >= 1)
);

-- The user id itself (its UTF-8 bytes: bytea, since an id may hold NUL), written with
-- every record, so that a maintenance walk (UserStore.scan) can name each user. NULL in
-- rows written before twofold kept it, until their next write.
ALTER TABLE "public".twofold_users ADD COLUMN IF NOT EXISTS user_id bytea;

-- One recovery-code set per user, in one row, so replacing a set is one atomic row
-- write: hashes[i] (32 bytes) is unused while used_at[i] is NULL. generation orders
-- the replaces: one applies only if its generation is greater than the stored one.
CREATE TABLE IF NOT EXISTS "public".twofold_recovery_codes (
  user_key bytea PRIMARY KEY CHECK (octet_length(user_key) = 32),
  generation bigint NOT NULL CHECK (generation >= 0),
  hashes bytea[] NOT NULL,
  used_at timestamptz[] NOT NULL,
  CHECK (cardinality(used_at) = cardinality(hashes))
);

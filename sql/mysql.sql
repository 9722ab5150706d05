-- twofold: the tables of the MySQL / MariaDB adapter (twofold/adapters/mysql), `twofold_users`
-- and `twofold_recovery_codes`, in the current database. migrationSql("twofold_")
-- returns this text and migrate() runs the same statements. InnoDB is required (row locks,
-- crash-safe single-statement writes). Every statement is idempotent; the named lock
-- serialises app servers that migrate at the same time.

DO GET_LOCK('twofold_migrate', 60);

-- One MFA record per user. user_key is SHA-256 of the UTF-8 user id, so any id (NULs,
-- case and trailing-space variants, 10 KB) keys a row exactly; in SQL, over a utf8mb4
-- connection: UNHEX(SHA2(user_id, 256)). record is the JSON text of the record as
-- LONGTEXT, byte for byte: the JSON type would normalise it. version counts writes from
-- 1; each write is a compare-and-set on it.
CREATE TABLE IF NOT EXISTS `twofold_users` (
  user_key BINARY(32) NOT NULL,
  record LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  version BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (user_key),
  CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One recovery-code set per user, in one row, so replacing a set is one atomic row
-- write. codes holds each hash as 64 lowercase hex characters followed by its state,
-- '-' unused or '+' used, in the order given; no hash can match across two entries.
-- generation orders the replaces: one applies only if its generation is greater.
CREATE TABLE IF NOT EXISTS `twofold_recovery_codes` (
  user_key BINARY(32) NOT NULL,
  generation BIGINT UNSIGNED NOT NULL,
  codes MEDIUMBLOB NOT NULL,
  PRIMARY KEY (user_key),
  CHECK (LENGTH(codes) % 65 = 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The user id itself (its UTF-8 bytes), written with every record so that a maintenance
-- walk (UserStore.scan) can name each user; NULL in rows written before, until their next
-- write. Added only when missing (MySQL has no ADD COLUMN IF NOT EXISTS).
SET @twofold_user_id = IF(
  (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'twofold_users' AND COLUMN_NAME = 'user_id') = 0,
  'ALTER TABLE `twofold_users` ADD COLUMN user_id BLOB NULL',
  'DO 0');
PREPARE twofold_user_id FROM @twofold_user_id;
EXECUTE twofold_user_id;
DEALLOCATE PREPARE twofold_user_id;

DO RELEASE_LOCK('twofold_migrate');

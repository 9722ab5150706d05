/**
 * Fresh, private places for the example's data in tests: a SQLite file in a
 * temporary directory, a PostgreSQL schema, a MariaDB database (each with a
 * random name, dropped by `drop`), so test files running in parallel and
 * reruns never share tables. No vitest here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DatabaseConfig } from '../../../examples/express/config.ts';
import { MYSQL_URL, POSTGRES_URL } from '../../support/services.ts';

export interface FreshDatabase {
  config: DatabaseConfig;
  /** What to put into DATABASE_URL (and DATABASE_SCHEMA) to start the example on it. */
  env: Record<string, string | undefined>;
  drop(): Promise<void>;
}

const OURS = /^twofold_example_[0-9a-f]{10}$/;
const freshName = () => `twofold_example_${randomBytes(5).toString('hex')}`;

/** A new directory for SQLite files and secrets, removed by `drop`. */
export function freshSqlite(): FreshDatabase {
  const directory = mkdtempSync(join(tmpdir(), 'twofold-example-'));
  const file = join(directory, 'example.db');
  return {
    config: { kind: 'sqlite', file },
    env: { DATABASE_URL: `file:${file}`, DATABASE_SCHEMA: undefined },
    drop: async () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** A schema name no other run uses (created by the example's migration). */
export function freshPostgres(): FreshDatabase {
  const schema = freshName();
  return {
    config: { kind: 'postgres', url: POSTGRES_URL, schema },
    env: { DATABASE_URL: POSTGRES_URL, DATABASE_SCHEMA: schema },
    drop: async () => {
      if (!OURS.test(schema)) throw new Error(`refusing to drop ${schema}`);
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** A new, empty MariaDB database (the example's tables and twofold's are created at start). */
export async function freshMysql(): Promise<FreshDatabase> {
  const name = freshName();
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  return {
    config: { kind: 'mysql', url: url.href },
    env: { DATABASE_URL: url.href, DATABASE_SCHEMA: undefined },
    drop: async () => {
      if (!OURS.test(name)) throw new Error(`refusing to drop ${name}`);
      const connection = await mysql.createConnection({ uri: MYSQL_URL });
      try {
        await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await connection.end();
      }
    },
  };
}

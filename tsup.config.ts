import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'webauthn/index': 'src/webauthn/index.ts',
    'maintenance/index': 'src/maintenance/index.ts',
    'adapters/postgres/index': 'src/stores/postgres/index.ts',
    'adapters/redis/index': 'src/stores/redis/index.ts',
    'adapters/sqlite/index': 'src/stores/sqlite/index.ts',
    'adapters/mysql/index': 'src/stores/mysql/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // Peers, never bundled: vitest (the conformance suite), pg, ioredis, better-sqlite3 and
  // mysql2 (the adapters), @simplewebauthn/server (the webauthn entry, loaded on the first registration).
  external: ['vitest', 'pg', 'ioredis', 'better-sqlite3', 'mysql2', '@simplewebauthn/server'],
});

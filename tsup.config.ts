import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'webauthn/index': 'src/webauthn/index.ts',
    'adapters/postgres/index': 'src/stores/postgres/index.ts',
    'adapters/redis/index': 'src/stores/redis/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  // Peers, never bundled: vitest (the conformance suite), pg and ioredis (the adapters),
  // @simplewebauthn/server (the webauthn entry, loaded on the first registration).
  external: ['vitest', 'pg', 'ioredis', '@simplewebauthn/server'],
});

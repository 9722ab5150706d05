import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      { find: /^twofold\/adapters\/postgres$/, replacement: fileURLToPath(new URL('./src/stores/postgres/index.ts', import.meta.url)) },
      { find: /^twofold\/adapters\/redis$/, replacement: fileURLToPath(new URL('./src/stores/redis/index.ts', import.meta.url)) },
      { find: /^twofold\/adapters\/sqlite$/, replacement: fileURLToPath(new URL('./src/stores/sqlite/index.ts', import.meta.url)) },
      { find: /^twofold\/adapters\/mysql$/, replacement: fileURLToPath(new URL('./src/stores/mysql/index.ts', import.meta.url)) },
      { find: /^twofold\/maintenance$/, replacement: fileURLToPath(new URL('./src/maintenance/index.ts', import.meta.url)) },
      { find: /^twofold\/webauthn$/, replacement: fileURLToPath(new URL('./src/webauthn/index.ts', import.meta.url)) },
      { find: /^twofold\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
      { find: /^twofold$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Type-level tests (expectTypeOf) in *.test-d.ts, checked by tsc as part of `npm test`.
    // (Errors elsewhere are `npm run typecheck`'s to report.)
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json', ignoreSourceErrors: true },
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

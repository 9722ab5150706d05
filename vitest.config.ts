import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: [
      { find: /^twofold\/adapters\/postgres$/, replacement: fileURLToPath(new URL('./src/stores/postgres/index.ts', import.meta.url)) },
      { find: /^twofold\/adapters\/redis$/, replacement: fileURLToPath(new URL('./src/stores/redis/index.ts', import.meta.url)) },
      { find: /^twofold\/webauthn$/, replacement: fileURLToPath(new URL('./src/webauthn/index.ts', import.meta.url)) },
      { find: /^twofold\/testing$/, replacement: fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)) },
      { find: /^twofold$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});

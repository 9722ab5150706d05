/**
 * Records written by 0.1.0 keep working (DESIGN §6.6) in the memory stores:
 * the real 0.1.0 memory fixture, restored through the stores' API, read by
 * the current service with the fixture's key and clock. The same contracts
 * run on PostgreSQL (test/stores/upgrade-postgres.test.ts) and Redis
 * (test/stores/upgrade-redis.test.ts); they live in test/support/v010-upgrade.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryRecoveryCodeStore, MemoryUserStore } from 'twofold';
import { loadV010Fixture, restoreMemory } from '../support/v010-fixtures.ts';
import { upgradeContracts, type RestoredStores } from '../support/v010-upgrade.ts';

const fixture = loadV010Fixture('memory');

async function restore(): Promise<RestoredStores> {
  const users = new MemoryUserStore();
  const recoveryCodes = new MemoryRecoveryCodeStore();
  await restoreMemory(users, recoveryCodes, fixture);
  return {
    users,
    recoveryCodes,
    // The memory store keeps the JSON text; `get` parses it afresh, so its stringification is that text.
    raw: async (userId) => {
      const stored = await users.get(userId);
      return stored ? { json: JSON.stringify(stored.record), version: stored.version } : null;
    },
  };
}

describe('memory: 0.1.0 records', () => {
  it('the restored stores hold the fixture exactly (the text 0.1.0 kept, its versions)', async () => {
    const { raw } = await restore();
    for (const entry of fixture.memory.users) expect(await raw(entry.userId), entry.label).toEqual({ json: entry.json, version: entry.version });
  });

  upgradeContracts({ fixture, restore });
});

/**
 * The {@link RecoveryCodeStore} contracts of the conformance suite:
 * generation-ordered replace, consume true exactly once (also under
 * races), restore, count and clear, per user and exactly.
 */
import { describe, expect } from 'vitest';
import type { RecoveryCodeStore } from '../stores/types.ts';
import { countTrue, hashes, nextGeneration, parallel, randomHash, type Contract } from './conformance-support.ts';
import { awkwardUserIds } from './fixtures.ts';

/** Registers the RecoveryCodeStore group with `contract`, racing `concurrency` callers. */
export function recoveryCodeStoreContracts(contract: Contract, concurrency: number): void {
  describe('RecoveryCodeStore', () => {
    const id = 'user-1';

    contract('countUnused of an unknown user is 0', async ({ recoveryCodes }) => {
      expect(await recoveryCodes.countUnused(id)).toBe(0);
    });

    contract('replace then countUnused is the size of the set', async ({ recoveryCodes }) => {
      await recoveryCodes.replace(id, hashes(10), nextGeneration());
      expect(await recoveryCodes.countUnused(id)).toBe(10);
      await recoveryCodes.replace('user-2', hashes(1), nextGeneration());
      expect(await recoveryCodes.countUnused('user-2')).toBe(1);
    });

    contract('consume of a stored hash is true once, then false', async ({ recoveryCodes }) => {
      const set = hashes(10);
      await recoveryCodes.replace(id, set, nextGeneration());
      expect(await recoveryCodes.consume(id, set[3]!)).toBe(true);
      expect(await recoveryCodes.countUnused(id)).toBe(9);
      expect(await recoveryCodes.consume(id, set[3]!)).toBe(false);
      expect(await recoveryCodes.countUnused(id)).toBe(9);
    });

    contract('every hash of a set can be consumed once, down to 0', async ({ recoveryCodes }) => {
      const set = hashes(10);
      await recoveryCodes.replace(id, set, nextGeneration());
      for (const hash of set) expect(await recoveryCodes.consume(id, hash)).toBe(true);
      expect(await recoveryCodes.countUnused(id)).toBe(0);
      for (const hash of set) expect(await recoveryCodes.consume(id, hash)).toBe(false);
    });

    contract('consume of an unknown hash or for an unknown user is false', async ({ recoveryCodes }) => {
      const set = hashes(3);
      await recoveryCodes.replace(id, set, nextGeneration());
      expect(await recoveryCodes.consume(id, randomHash())).toBe(false);
      expect(await recoveryCodes.consume('unknown-user', set[0]!)).toBe(false);
      expect(await recoveryCodes.consume('unknown-user', randomHash())).toBe(false);
      expect(await recoveryCodes.countUnused(id)).toBe(3);
    });

    contract(`concurrent consume: ${concurrency} parallel consumes of one hash, exactly one true`, async ({ recoveryCodes }) => {
      const set = hashes(10);
      await recoveryCodes.replace(id, set, nextGeneration());
      const results = await parallel(concurrency, () => recoveryCodes.consume(id, set[0]!));
      expect(countTrue(results)).toBe(1);
      expect(results.every((result) => typeof result === 'boolean')).toBe(true);
      expect(await recoveryCodes.countUnused(id)).toBe(9);
    });

    contract(`concurrent consume: ${concurrency} parallel consumes of 10 different hashes, exactly 10 true`, async ({ recoveryCodes }) => {
      const set = hashes(10);
      await recoveryCodes.replace(id, set, nextGeneration());
      const each = Math.max(1, Math.floor(concurrency / set.length));
      const results = await parallel(each * set.length, (i) => recoveryCodes.consume(id, set[i % set.length]!));
      expect(countTrue(results)).toBe(10);
      for (const [h] of set.entries()) {
        expect(countTrue(results.filter((_, i) => i % set.length === h))).toBe(1);
      }
      expect(await recoveryCodes.countUnused(id)).toBe(0);
    });

    contract('replace kills the whole old set and resets the count', async ({ recoveryCodes }) => {
      const old = hashes(10);
      await recoveryCodes.replace(id, old, nextGeneration());
      expect(await recoveryCodes.consume(id, old[0]!)).toBe(true);
      const fresh = hashes(5);
      await recoveryCodes.replace(id, fresh, nextGeneration());
      expect(await recoveryCodes.countUnused(id)).toBe(5);
      for (const hash of old) expect(await recoveryCodes.consume(id, hash)).toBe(false);
      for (const hash of fresh) expect(await recoveryCodes.consume(id, hash)).toBe(true);
    });

    contract('replace stores every hash unused, even one that was used in the old set', async ({ recoveryCodes }) => {
      const set = hashes(3);
      await recoveryCodes.replace(id, set, nextGeneration());
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      await recoveryCodes.replace(id, [set[0]!, randomHash()], nextGeneration());
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      expect(await recoveryCodes.consume(id, set[1]!)).toBe(false);
    });

    contract('replace of an older generation arriving late is ignored: the newer set stays whole', async ({ recoveryCodes }) => {
      const older = hashes(3);
      const newer = hashes(4);
      const olderGeneration = nextGeneration();
      await recoveryCodes.replace(id, newer, nextGeneration());
      await recoveryCodes.replace(id, older, olderGeneration);
      expect(await recoveryCodes.countUnused(id)).toBe(4);
      expect(await recoveryCodes.consume(id, older[0]!)).toBe(false);
      expect(await recoveryCodes.consume(id, newer[0]!)).toBe(true);
    });

    contract('replace repeating the stored generation is ignored: used hashes stay used', async ({ recoveryCodes }) => {
      const set = hashes(3);
      const same = nextGeneration();
      await recoveryCodes.replace(id, set, same);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      await recoveryCodes.replace(id, set, same);
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);
    });

    contract('after clear, a replace of any generation applies', async ({ recoveryCodes }) => {
      const first = nextGeneration();
      await recoveryCodes.replace(id, hashes(2), nextGeneration());
      await recoveryCodes.clear(id);
      const set = hashes(3);
      await recoveryCodes.replace(id, set, first);
      expect(await recoveryCodes.countUnused(id)).toBe(3);
      expect(await recoveryCodes.consume(id, set[2]!)).toBe(true);
    });

    contract('concurrent replaces of different generations: the highest generation wins', async ({ recoveryCodes }) => {
      const base = nextGeneration();
      const sets = Array.from({ length: 20 }, () => hashes(2));
      for (let i = 0; i < sets.length; i++) nextGeneration();
      await parallel(sets.length, (i) => recoveryCodes.replace(id, sets[i]!, base + 1 + i));
      const winner = sets[sets.length - 1]!;
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, winner[0]!)).toBe(true);
      for (const set of sets.slice(0, -1)) expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);
    });

    contract('replace with an empty array leaves a count of 0 and kills the old set', async ({ recoveryCodes }) => {
      const old = hashes(10);
      await recoveryCodes.replace(id, old, nextGeneration());
      await recoveryCodes.replace(id, [], nextGeneration());
      expect(await recoveryCodes.countUnused(id)).toBe(0);
      expect(await recoveryCodes.consume(id, old[0]!)).toBe(false);
    });

    contract('restore after consume makes the hash consumable again, exactly once', async ({ recoveryCodes }) => {
      const set = hashes(10);
      await recoveryCodes.replace(id, set, nextGeneration());
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      await recoveryCodes.restore(id, set[0]!);
      expect(await recoveryCodes.countUnused(id)).toBe(10);
      const results = await parallel(concurrency, () => recoveryCodes.consume(id, set[0]!));
      expect(countTrue(results)).toBe(1);
      expect(await recoveryCodes.countUnused(id)).toBe(9);
    });

    contract('restore twice counts once', async ({ recoveryCodes }) => {
      const set = hashes(2);
      await recoveryCodes.replace(id, set, nextGeneration());
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      await recoveryCodes.restore(id, set[0]!);
      await recoveryCodes.restore(id, set[0]!);
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);
    });

    contract('restore of an unused, unknown or unknown-user hash is a no-op', async ({ recoveryCodes }) => {
      const set = hashes(2);
      await recoveryCodes.replace(id, set, nextGeneration());
      await recoveryCodes.restore(id, set[0]!);
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(true);
      expect(await recoveryCodes.consume(id, set[0]!)).toBe(false);

      const unknown = randomHash();
      await recoveryCodes.restore(id, unknown);
      expect(await recoveryCodes.countUnused(id)).toBe(1);
      expect(await recoveryCodes.consume(id, unknown)).toBe(false);

      await recoveryCodes.restore('unknown-user', unknown);
      expect(await recoveryCodes.countUnused('unknown-user')).toBe(0);
      expect(await recoveryCodes.consume('unknown-user', unknown)).toBe(false);
    });

    contract('restore never brings back a hash of a replaced or cleared set', async ({ recoveryCodes }) => {
      const old = hashes(3);
      await recoveryCodes.replace(id, old, nextGeneration());
      expect(await recoveryCodes.consume(id, old[0]!)).toBe(true);
      await recoveryCodes.replace(id, hashes(2), nextGeneration());
      await recoveryCodes.restore(id, old[0]!);
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, old[0]!)).toBe(false);

      const cleared = hashes(2);
      await recoveryCodes.replace('user-2', cleared, nextGeneration());
      expect(await recoveryCodes.consume('user-2', cleared[0]!)).toBe(true);
      await recoveryCodes.clear('user-2');
      await recoveryCodes.restore('user-2', cleared[0]!);
      expect(await recoveryCodes.countUnused('user-2')).toBe(0);
      expect(await recoveryCodes.consume('user-2', cleared[0]!)).toBe(false);
    });

    contract('clear leaves a count of 0 and nothing consumable; a new set works after it', async ({ recoveryCodes }) => {
      const set = hashes(10);
      await recoveryCodes.replace(id, set, nextGeneration());
      await recoveryCodes.clear(id);
      expect(await recoveryCodes.countUnused(id)).toBe(0);
      for (const hash of set) expect(await recoveryCodes.consume(id, hash)).toBe(false);
      await recoveryCodes.clear(id);
      await recoveryCodes.clear('unknown-user');
      expect(await recoveryCodes.countUnused('unknown-user')).toBe(0);
      const fresh = hashes(2);
      await recoveryCodes.replace(id, fresh, nextGeneration());
      expect(await recoveryCodes.countUnused(id)).toBe(2);
      expect(await recoveryCodes.consume(id, fresh[1]!)).toBe(true);
    });

    contract('two users holding the same hash are independent', async ({ recoveryCodes }) => {
      const shared = randomHash();
      await recoveryCodes.replace('alice', [shared, randomHash()], nextGeneration());
      await recoveryCodes.replace('bob', [shared], nextGeneration());
      expect(await recoveryCodes.consume('alice', shared)).toBe(true);
      expect(await recoveryCodes.countUnused('bob')).toBe(1);
      expect(await recoveryCodes.consume('bob', shared)).toBe(true);
      await recoveryCodes.restore('alice', shared);
      expect(await recoveryCodes.countUnused('alice')).toBe(2);
      expect(await recoveryCodes.countUnused('bob')).toBe(0);
      await recoveryCodes.clear('alice');
      await recoveryCodes.restore('bob', shared);
      expect(await recoveryCodes.countUnused('bob')).toBe(1);
      expect(await recoveryCodes.consume('bob', shared)).toBe(true);
    });

    contract('replace and clear touch only their own user', async ({ recoveryCodes }) => {
      const bob = hashes(4);
      await recoveryCodes.replace('alice', hashes(3), nextGeneration());
      await recoveryCodes.replace('bob', bob, nextGeneration());
      await recoveryCodes.replace('alice', hashes(1), nextGeneration());
      await recoveryCodes.clear('alice');
      expect(await recoveryCodes.countUnused('bob')).toBe(4);
      expect(await recoveryCodes.consume('bob', bob[0]!)).toBe(true);
    });

    contract(`concurrent replaces (${concurrency}) leave exactly one whole set, never a mix`, async ({ recoveryCodes }) => {
      const sets = Array.from({ length: concurrency }, (_, i) => hashes((i % 5) + 1));
      await parallel(concurrency, (i) => recoveryCodes.replace(id, sets[i]!, nextGeneration()));
      const count = await recoveryCodes.countUnused(id);
      const live: number[] = [];
      for (const [i, set] of sets.entries()) {
        if (await recoveryCodes.consume(id, set[0]!)) live.push(i);
      }
      expect(live).toHaveLength(1);
      const winner = sets[live[0]!]!;
      expect(count).toBe(winner.length);
      for (const hash of winner.slice(1)) expect(await recoveryCodes.consume(id, hash)).toBe(true);
      expect(await recoveryCodes.countUnused(id)).toBe(0);
    });

    contract('replace racing consumes of the old set ends with exactly the new set, all unused', async ({ recoveryCodes }) => {
      const old = hashes(10);
      const fresh = hashes(10);
      await recoveryCodes.replace(id, old, nextGeneration());
      await Promise.all([
        ...old.map((hash) => recoveryCodes.consume(id, hash)),
        recoveryCodes.replace(id, fresh, nextGeneration()),
        ...old.map((hash) => recoveryCodes.consume(id, hash)),
      ]);
      expect(await recoveryCodes.countUnused(id)).toBe(10);
      for (const hash of old) expect(await recoveryCodes.consume(id, hash)).toBe(false);
      for (const hash of fresh) expect(await recoveryCodes.consume(id, hash)).toBe(true);
    });

    contract('awkward user ids each keep their own set', async ({ recoveryCodes }) => {
      const sets = awkwardUserIds.map((_, i) => hashes((i % 3) + 1));
      for (const [i, userId] of awkwardUserIds.entries()) await recoveryCodes.replace(userId, sets[i]!, nextGeneration());
      for (const [i, userId] of awkwardUserIds.entries()) {
        expect(await recoveryCodes.countUnused(userId), `user id #${i}`).toBe(sets[i]!.length);
        const neighbour = sets[(i + 1) % sets.length]!;
        expect(await recoveryCodes.consume(userId, neighbour[0]!), `user id #${i}`).toBe(false);
        expect(await recoveryCodes.consume(userId, sets[i]![0]!), `user id #${i}`).toBe(true);
      }
      for (const [i, userId] of awkwardUserIds.entries()) {
        expect(await recoveryCodes.countUnused(userId), `user id #${i}`).toBe(sets[i]!.length - 1);
      }
      for (const userId of ['use', 'u%', 'user\u0000\u0000', 'uSer', '**']) {
        expect(await recoveryCodes.countUnused(userId)).toBe(0);
      }
    });
  });
}

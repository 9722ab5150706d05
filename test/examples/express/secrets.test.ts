/**
 * The development secrets file (secrets.ts): made once with mode 0600 in a
 * 0700 directory, read at every later start, the same for processes that
 * start together, refused (by name, never by value) when broken.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDevSecrets, SecretsFileError } from '../../../examples/express/secrets.ts';

const directory = mkdtempSync(join(tmpdir(), 'twofold-secrets-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(directory, `run${++n}`, 'nested', 'secrets.json');

describe.skipIf(process.platform === 'win32')('loadDevSecrets', () => {
  it('generates a 32-byte key and a session secret once, 0600 in a 0700 directory, and reads them back after', () => {
    const file = freshFile();
    const first = loadDevSecrets(file);
    expect(first.created).toBe(true);
    expect(first.warnings).toEqual([]);
    expect(first.secretKey).toHaveLength(32);
    expect(first.sessionSecret.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    const text = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(Object.keys(text).sort()).toEqual(['SESSION_SECRET', 'TWOFOLD_SECRET_KEY']);
    expect(Buffer.from(text.TWOFOLD_SECRET_KEY!, 'base64').equals(Buffer.from(first.secretKey))).toBe(true);

    const again = loadDevSecrets(file);
    expect(again.created).toBe(false);
    expect(Buffer.from(again.secretKey).equals(Buffer.from(first.secretKey))).toBe(true);
    expect(again.sessionSecret).toBe(first.sessionSecret);
  });

  it('agrees on one file when several processes start at the same moment', async () => {
    const file = freshFile();
    const script = `import { loadDevSecrets } from ${JSON.stringify(fileURLToPath(new URL('../../../examples/express/secrets.ts', import.meta.url)))};
const s = loadDevSecrets(${JSON.stringify(file)});
console.log(JSON.stringify({ key: Buffer.from(s.secretKey).toString('hex'), created: s.created }));`;
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        return new Promise<{ key: string; created: boolean }>((resolve, reject) =>
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { key: string; created: boolean }) : reject(new Error(`exit ${code}`)))),
        );
      }),
    );
    expect(new Set(runs.map((r) => r.key)).size).toBe(1);
    expect(runs.filter((r) => r.created).length).toBeLessThanOrEqual(1);
    expect(runs[0]!.key).toBe(Buffer.from(loadDevSecrets(file).secretKey).toString('hex'));
    // No temporary file left behind.
    expect(readdirSync(dirname(file))).toEqual(['secrets.json']);
  });

  it('warns when the file can be read by other users', () => {
    const file = freshFile();
    loadDevSecrets(file);
    chmodSync(file, 0o644);
    expect(loadDevSecrets(file).warnings).toEqual([`${file} can be read by other users of this machine: chmod 600 ${file}`]);
  });

  it.each([
    ['not JSON', 'not json {'],
    ['a short key', JSON.stringify({ TWOFOLD_SECRET_KEY: Buffer.alloc(16, 1).toString('base64'), SESSION_SECRET: 's'.repeat(40) })],
    ['a short session secret', JSON.stringify({ TWOFOLD_SECRET_KEY: Buffer.alloc(32, 1).toString('base64'), SESSION_SECRET: 'short-but-secret' })],
    ['no key', JSON.stringify({ SESSION_SECRET: 's'.repeat(40) })],
  ])('refuses a file with %s, naming the file and never a value', (_name, text) => {
    const file = freshFile();
    loadDevSecrets(file); // makes the directory
    writeFileSync(file, text, { mode: 0o600 });
    expect(() => loadDevSecrets(file)).toThrow(SecretsFileError);
    try {
      loadDevSecrets(file);
    } catch (error) {
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).not.toContain('short-but-secret');
      expect((error as Error).message).not.toContain(Buffer.alloc(16, 1).toString('base64'));
    }
  });
});

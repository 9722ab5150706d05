/**
 * Packaging (issue 8.5): users install exactly what the library uses.
 * `scripts/check-deps.mjs` checks the same against the built dist/ in CI;
 * this checks the sources on every `npm test`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : /\.ts$/.test(entry.name) ? [path] : [];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Bare specifiers of runtime imports (type-only imports are erased from the build). */
function importedPackages(): Set<string> {
  const found = new Set<string>();
  const pattern = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s*['"]([^'"./][^'"]*)['"]|\bimport\s*\(\s*['"]([^'"./][^'"]*)['"]/gm;
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(pattern)) found.add(packageOf(match[1] ?? match[2]!));
  }
  return found;
}

describe('runtime dependencies (issue 8.5)', () => {
  const imported = importedPackages();
  const dependencies = Object.keys(pkg.dependencies ?? {});

  it('every runtime dependency is imported by src/ (none installed for nothing, e.g. otplib)', () => {
    expect(dependencies.filter((name) => !imported.has(name))).toEqual([]);
    expect(dependencies).not.toContain('otplib');
    expect(Object.keys(pkg.devDependencies ?? {})).toContain('otplib');
  });

  it('every package src/ imports is a builtin, a dependency or a declared peer', () => {
    const peers = Object.keys(pkg.peerDependencies ?? {});
    const builtins = new Set(builtinModules);
    const undeclared = [...imported].filter(
      (name) => !name.startsWith('node:') && !builtins.has(name) && name !== pkg.name && !dependencies.includes(name) && !peers.includes(name),
    );
    expect(undeclared).toEqual([]);
  });

  it('the README counts the runtime dependencies truly', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const words = ['zero', 'one', 'two', 'three', 'four', 'five'];
    expect(readme).toContain(`**Small**: ${words[dependencies.length]} runtime dependenc`);
    for (const name of dependencies) expect(readme).toContain(`\`${name}\``);
  });
});

describe('the main entry never loads the WebAuthn peer (issue 9)', () => {
  /** Every source file `entry` reaches through relative imports, type-only ones excluded (they are erased). */
  function reachable(entry: string, seen = new Set<string>()): Set<string> {
    if (seen.has(entry)) return seen;
    seen.add(entry);
    const text = readFileSync(entry, 'utf8');
    const pattern = /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s*['"](\.[^'"]+)['"]/gm;
    for (const match of text.matchAll(pattern)) reachable(resolve(dirname(entry), match[1]!), seen);
    return seen;
  }

  it('no file the main entry loads imports @simplewebauthn/server; twofold/webauthn does (lazily)', () => {
    const main = reachable(join(root, 'src', 'index.ts'));
    const offenders = [...main].filter((file) => /@simplewebauthn/.test(readFileSync(file, 'utf8').replace(/^\s*(?:\/\/|\*).*$/gm, '')));
    expect(offenders).toEqual([]);
    expect([...main].some((file) => file.includes(`${join('src', 'webauthn')}`))).toBe(false);
    const entry = reachable(join(root, 'src', 'webauthn', 'index.ts'));
    expect([...entry].some((file) => /import\('@simplewebauthn\/server'\)/.test(readFileSync(file, 'utf8')))).toBe(true);
  });
});

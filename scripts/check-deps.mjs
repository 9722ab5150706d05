// Checks the built package's dependencies against what dist/ really imports.
// Run by .ci/run after `npm run build`.
//  - every runtime dependency is imported by some file in dist/: users never
//    install a package for nothing (0.1.0 shipped otplib unused);
//  - every bare import in dist/ is a node: builtin, twofold itself, a runtime
//    dependency or a declared peer: nothing is loaded that npm did not install.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const dependencies = Object.keys(pkg.dependencies ?? {});
const peers = Object.keys(pkg.peerDependencies ?? {});

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (/\.(c?js|mjs)$/.test(entry.name)) yield path;
  }
}

/** The package name of a bare specifier: `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)["']([^"'./][^"']*)["']/g;
const imported = new Map();
for (const file of files('dist')) {
  for (const [, specifier] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
    const name = packageOf(specifier);
    if (!imported.has(name)) imported.set(name, file);
  }
}

const unused = dependencies.filter((name) => !imported.has(name));
assert.deepEqual(unused, [], `runtime dependencies never imported by dist/: ${unused.join(', ')} (move them to devDependencies)`);

const builtins = new Set(builtinModules);
const undeclared = [...imported.keys()].filter(
  (name) => !name.startsWith('node:') && !builtins.has(name) && name !== pkg.name && !dependencies.includes(name) && !peers.includes(name),
);
assert.deepEqual(undeclared, [], `dist/ imports packages that are neither dependencies nor peers: ${undeclared.map((n) => `${n} (${imported.get(n)})`).join(', ')}`);

console.log(`dependencies ok: ${dependencies.join(', ')} each imported by dist/; every bare import declared`);

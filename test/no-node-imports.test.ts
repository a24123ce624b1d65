// The guest kernel runs in any worker: no node: module outside its worker
// entry point. The ABI package imports none at all.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, test } from 'vitest';
import { sourceFiles } from './support/source-files.ts';

const root = new URL('..', import.meta.url).pathname;
const NODE_IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"](node:[^'"]+)['"]/g;

function offenders(dir: string, allowed: string[] = []): string[] {
  return sourceFiles(join(root, dir))
    .filter((f) => !allowed.includes(relative(root, f)))
    .flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(NODE_IMPORT)].map(
        (m) => `${relative(root, f)}: ${m[1]}`,
      ),
    );
}

test('the guest kernel imports node: modules only in its worker entry', () => {
  expect(offenders('packages/guest-kernel/src', ['packages/guest-kernel/src/entry.ts'])).toEqual(
    [],
  );
  // and the entry does (so the test is not vacuous)
  expect(readFileSync(join(root, 'packages/guest-kernel/src/entry.ts'), 'utf8')).toMatch(
    NODE_IMPORT,
  );
});

test('@pvkit/hypercall imports no node: module', () => {
  expect(offenders('packages/hypercall/src')).toEqual([]);
});

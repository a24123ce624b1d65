// README.md carries the ABI reference generated from the constants. This
// test fails when they drift; PVKIT_UPDATE_README=1 rewrites the section.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { abiReference } from '../src/index.ts';

const BEGIN = '<!-- abi:begin (generated from src by test/readme.test.ts; do not edit) -->';
const END = '<!-- abi:end -->';
const file = new URL('../README.md', import.meta.url);

test('README.md carries the ABI reference generated from the source', () => {
  const text = readFileSync(file, 'utf8');
  const from = text.indexOf(BEGIN);
  const to = text.indexOf(END);
  expect(from, 'README.md has the abi:begin marker').toBeGreaterThanOrEqual(0);
  expect(to).toBeGreaterThan(from);
  const fresh = `${BEGIN}\n\n${abiReference()}\n\n${END}`;
  const current = text.slice(from, to + END.length);
  if (process.env.PVKIT_UPDATE_README === '1' && current !== fresh) {
    writeFileSync(file, text.slice(0, from) + fresh + text.slice(to + END.length));
    return;
  }
  expect(
    current,
    'run PVKIT_UPDATE_README=1 pnpm vitest run packages/hypercall/test/readme.test.ts',
  ).toBe(fresh);
});

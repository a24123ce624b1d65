// Every class field in the packages and benchmarks either has an initializer or is
// `declare`d and assigned in the constructor. A bare `x: T;` compiles, under
// ES2022 class-field semantics (our target's default, and a user's), to a
// field first defined as `undefined`; V8 then types the field as "any tagged
// value" for every instance: optimized code then checks the map of every
// typed array it reads from a field, and the Smi tag of every number. On the
// ring's hot paths that was about 10% more machine instructions per chain
// (BENCHMARKS.md, ring, fourth session).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** `name:line field` of each class field with neither an initializer nor `declare`. */
function bareFields(name: string, src: string): string[] {
  const sf = ts.createSourceFile(name, src, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyDeclaration(n) && ts.isClassLike(n.parent) && !n.initializer) {
      const kinds = (ts.getModifiers(n) ?? []).map((m) => m.kind);
      if (
        !kinds.includes(ts.SyntaxKind.DeclareKeyword) &&
        !kinds.includes(ts.SyntaxKind.AbstractKeyword)
      ) {
        const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
        found.push(`${name}:${line} ${n.name.getText(sf)}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const packageSources = [
  ...readdirSync(join(root, 'packages')).flatMap((p) => sources(join(root, 'packages', p, 'src'))),
  ...sources(join(root, 'bench')).filter((f) => !f.includes('/results/')),
];

test('no class field in the packages or benchmarks is declared bare (initialize it, or `declare` it)', () => {
  expect(packageSources.length).toBeGreaterThan(50);
  const bare = packageSources.flatMap((f) =>
    bareFields(relative(root, f), readFileSync(f, 'utf8')),
  );
  expect(bare).toEqual([]);
});

test('the check finds a bare field (so it is not vacuous)', () => {
  const src =
    'class A {\n  x: number;\n  declare y: number;\n  z = 1;\n  constructor() { this.x = 1; this.y = 2; }\n}';
  expect(bareFields('probe.ts', src)).toEqual(['probe.ts:2 x']);
});

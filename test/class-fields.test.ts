// Every class field in the packages and benchmarks either has an initializer or is
// `declare`d and assigned in the constructor. A bare `x: T;` compiles, under
// ES2022 class-field semantics (our target's default, and a user's), to a
// field first defined as `undefined`; V8 then types the field as "any tagged
// value" for every instance: optimized code then checks the map of every
// typed array it reads from a field, and the Smi tag of every number. On the
// ring's hot paths that was about 10% more machine instructions per chain
// (BENCHMARKS.md, ring, fourth session). TypeScript does not check that a
// declared field is assigned, so this test checks that its constructor
// assigns it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';
import { sourceFiles } from './support/source-files.ts';

const root = new URL('..', import.meta.url).pathname;

const has = (n: ts.Node, kind: ts.SyntaxKind): boolean =>
  (ts.canHaveModifiers(n) ? (ts.getModifiers(n) ?? []) : []).some((m) => m.kind === kind);

/** Fields `this.x = ...` assigns anywhere in a constructor's body. */
function assignedIn(ctor: ts.ConstructorDeclaration | undefined): Set<string> {
  const names = new Set<string>();
  const walk = (n: ts.Node): void => {
    if (
      ts.isBinaryExpression(n) &&
      n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isPropertyAccessExpression(n.left) &&
      n.left.expression.kind === ts.SyntaxKind.ThisKeyword
    )
      names.add(n.left.name.text);
    ts.forEachChild(n, walk);
  };
  if (ctor?.body) walk(ctor.body);
  return names;
}

/**
 * `name:line field: what` for each class field with neither an initializer
 * nor `declare`, and each `declare`d one its constructor never assigns
 * (TypeScript does not check a declared field's definite assignment).
 */
function fieldProblems(name: string, src: string): string[] {
  const sf = ts.createSourceFile(name, src, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (n: ts.Node): string =>
    `${name}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (ts.isClassLike(n)) {
      const ctor = n.members.find(ts.isConstructorDeclaration);
      const assigned = assignedIn(ctor);
      for (const m of n.members) {
        if (!ts.isPropertyDeclaration(m) || m.initializer) continue;
        const field = m.name.getText(sf);
        if (has(m, ts.SyntaxKind.DeclareKeyword)) {
          if (!assigned.has(field)) found.push(`${at(m)} ${field}: declared, not assigned`);
        } else if (!has(m, ts.SyntaxKind.AbstractKeyword)) found.push(`${at(m)} ${field}: bare`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const packageSources = [
  ...readdirSync(join(root, 'packages')).flatMap((p) =>
    sourceFiles(join(root, 'packages', p, 'src'), /\.ts$/),
  ),
  ...sourceFiles(join(root, 'bench'), /\.ts$/).filter((f) => !f.includes('/results/')),
];

test('every class field in the packages and benchmarks is initialized, or declared and assigned in its constructor', () => {
  expect(packageSources.length).toBeGreaterThan(50);
  const problems = packageSources.flatMap((f) =>
    fieldProblems(relative(root, f), readFileSync(f, 'utf8')),
  );
  expect(problems).toEqual([]);
});

test('the check finds a bare field and a declared one left unassigned (so it is not vacuous)', () => {
  const src = [
    'class A {',
    '  x: number;',
    '  declare y: number;',
    '  declare w: number;',
    '  z = 1;',
    '  constructor() { this.x = 1; if (this.z) this.y = 2; }',
    '}',
  ].join('\n');
  expect(fieldProblems('probe.ts', src)).toEqual([
    'probe.ts:2 x: bare',
    'probe.ts:4 w: declared, not assigned',
  ]);
});

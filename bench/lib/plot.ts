// SVG charts of benchmark documents: per case, pvkit beside its native floor
// (each case on its own y scale, since units differ), one row per family.
// vega-lite compiled to vega and rendered headless: no browser, no canvas.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchDocument } from './types.ts';

interface Bar {
  family: string;
  case: string;
  who: string;
  value: number;
  unit: string;
  label: string;
}

function barsOf(doc: BenchDocument): Bar[] {
  const bars: Bar[] = [];
  for (const c of doc.cases) {
    const label = `${c.case} (${c.unit})`;
    bars.push({
      family: doc.bench,
      case: c.case,
      who: 'pvkit',
      value: c.value,
      unit: c.unit,
      label,
    });
    if (c.native !== null)
      bars.push({
        family: doc.bench,
        case: c.case,
        who: 'native',
        value: c.native,
        unit: c.unit,
        label,
      });
  }
  return bars;
}

function familySpec(doc: BenchDocument): Record<string, unknown> {
  const ratioNote = doc.cases
    .map((c) => `${c.case}: ${c.ratio === null ? 'no floor' : `${c.ratio.toFixed(2)}x`}`)
    .join('   ');
  return {
    title: { text: `${doc.bench}: pvkit vs native floor`, subtitle: ratioNote, anchor: 'start' },
    data: { values: barsOf(doc) },
    facet: { field: 'label', type: 'nominal', title: null },
    columns: 3,
    spec: {
      width: 140,
      height: 120,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'who', type: 'nominal', title: null, sort: ['pvkit', 'native'] },
        y: { field: 'value', type: 'quantitative', title: null },
        color: {
          field: 'who',
          type: 'nominal',
          scale: { domain: ['pvkit', 'native'], range: ['#4c78a8', '#9d9d9d'] },
          legend: null,
        },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** One SVG document charting every case of every given benchmark document. */
export async function plotSvg(docs: readonly BenchDocument[]): Promise<string> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    vconcat: docs.filter((d) => d.cases.length > 0).map(familySpec),
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

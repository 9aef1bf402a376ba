import { describe, expect, it } from 'vitest';
import {
  classificationMetrics,
  multiLabelMetrics,
  regressionMetrics,
  reliabilityBins,
} from '../src/eval/metrics.js';
import { type ReportInput, renderReport } from '../src/eval/report.js';

const EVIL = '<script>alert("x")</script>';

function input(): ReportInput {
  const labels = ['anger', EVIL, 'joy'];
  const probs = new Float64Array([0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.6, 0.3, 0.1]);
  const truth = new Int32Array([0, 0, 1, 2, 2]);
  return {
    title: 'Eval of <default> & friends',
    head: { name: 'default', sha256: 'ab'.repeat(32) },
    tasks: {
      emotion: classificationMetrics(probs, truth, labels),
      goemotions: multiLabelMetrics(
        new Float64Array([0.6, 0.4, 0.3, 0.7]),
        new Uint8Array([1, 1, 0, 1]),
        ['a', 'b'],
        0.35,
      ),
      valence: regressionMetrics(new Float64Array([0.1, -0.2, 0.5]), new Float64Array([0.2, -0.1, 0.3])),
    },
    reliability: { emotion: reliabilityBins(probs, truth, 3, 10) },
    trainingLog: [
      { epoch: 0, step: 0, loss: 1.9, lr: 1e-3 },
      { epoch: 0, step: 50, loss: 1.4, lr: 1e-3 },
      { epoch: 1, step: 100, loss: 1.1, devMetric: 0.41, lr: 5e-4 },
      { epoch: 1, step: 150, loss: 0.9, lr: 5e-4 },
      { epoch: 2, step: 200, loss: 0.8, devMetric: 0.47, lr: 2.5e-4 },
    ],
    generated: '2025-01-02T03:04:05Z',
  };
}

const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);

/** Checks that tags nest properly: every open tag is closed, in order (void and `/>` tags aside). */
function unbalancedTags(html: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    const tag = name!.toLowerCase();
    if (selfClosing === '/' || VOID.has(tag)) continue;
    if (closing === '') stack.push(tag);
    else if (stack.pop() !== tag) problems.push(`</${tag}> at ${m.index}`);
  }
  return [...problems, ...stack.map((t) => `unclosed <${t}>`)];
}

describe('renderReport', () => {
  const html = renderReport(input());

  it('draws a confusion matrix, a reliability diagram and learning curves as inline SVG', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<svg class="confusion"');
    expect(html).toContain('<svg class="reliability"');
    expect(html).toContain('<svg class="curve loss"');
    expect(html).toContain('<svg class="curve dev"');
    expect(html).toContain('<svg class="curve lr"');
    const open = html.match(/<svg\b/g)?.length ?? 0;
    expect(open).toBe(5);
    expect(html.match(/<\/svg>/g)?.length).toBe(open);
  });

  it('shows the metrics of every task', () => {
    expect(html).toContain('goemotions');
    expect(html).toContain('valence');
    expect(html).toContain('ab'.repeat(32));
    expect(html).toContain('2025-01-02T03:04:05Z');
    // accuracy 3/5 (rows 0, 2, 3 right), shown with 4 decimals.
    expect(html).toContain('0.6000');
  });

  it('escapes text from the input', () => {
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('Eval of &lt;default&gt; &amp; friends');
  });

  it('is self-contained', () => {
    expect(html).not.toMatch(/\s(src|href)=/);
    expect(html).not.toContain('@import');
    expect(html).not.toContain('url(');
  });

  it('is deterministic', () => {
    expect(renderReport(input())).toBe(html);
  });

  it('nests its tags properly', () => {
    expect(unbalancedTags(html)).toEqual([]);
  });

  it('says which classes macro-F1 and UAR average over', () => {
    expect(html).toContain('Macro-F1 and UAR average over all 3 classes.');
    expect(html).toContain('Macro-F1 averages over all 2 classes.');
    // joy (and the escaped label) predicted, but only anger in the truth.
    const partial = renderReport({
      title: 't',
      tasks: {
        emotion: classificationMetrics(
          new Float64Array([0.6, 0.3, 0.1, 0.2, 0.2, 0.6]),
          new Int32Array([0, 0]),
          ['anger', EVIL, 'joy'],
        ),
      },
      generated: 'now',
    });
    expect(partial).toContain(
      'Macro-F1 and UAR average over the 1 of 3 classes present in the truth; left out (in no row\u2019s truth): ' +
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, joy.',
    );
  });

  it('renders with only the required parts, and survives NaN metrics', () => {
    const bare = renderReport({
      title: 't',
      tasks: {
        emotion: classificationMetrics(new Float64Array([0.5, 0.5]), new Int32Array([-1]), ['a', 'b']),
        constructor: regressionMetrics(new Float64Array([1]), new Float64Array([1]), new Uint8Array([0])),
      },
      generated: 'now',
    });
    expect(bare.match(/<svg\b/g)?.length).toBe(1); // the confusion matrix only
    expect(bare).toContain('—');
    expect(bare).not.toContain('NaN');
    expect(unbalancedTags(bare)).toEqual([]);
  });
});

import path from 'node:path';

/**
 * The one-way layers of src/ (docs/development.md, "Layout"): a module may import its own
 * folder and the folders of lower rank, never a folder of higher or equal rank (upward or
 * sideways). Relative imports are resolved against the importing file; packages are not checked.
 */
const LAYER_RANK = {
  cli: 9,
  bench: 8,
  runtime: 7,
  export: 6,
  pipeline: 5,
  head: 4,
  data: 3,
  features: 2,
  eval: 2,
  io: 1,
  models: 1,
  core: 0,
};

/** The layer of a file under src/ (its first folder), or undefined outside src/ or for src/index.ts. */
function layerOf(file) {
  const rel = path.relative(path.resolve('src'), file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const first = rel.split(path.sep)[0];
  return first in LAYER_RANK ? first : undefined;
}

const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: "imports follow src/'s one-way layers" },
    messages: {
      upward:
        "src/{{from}} may not import src/{{to}} ('{{source}}'): layers point one way, cli -> bench -> runtime -> export -> pipeline -> head -> data -> features/eval -> io/models -> core (docs/development.md)",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename ?? context.getFilename();
    const from = layerOf(file);
    if (from === undefined) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = layerOf(path.resolve(path.dirname(file), source));
      if (to === undefined || to === from) return;
      if (LAYER_RANK[to] >= LAYER_RANK[from])
        context.report({ node, messageId: 'upward', data: { from, to, source } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export const layersPlugin = { rules: { layers: layersRule } };
export { LAYER_RANK };

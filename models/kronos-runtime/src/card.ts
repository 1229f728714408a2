import { z } from 'zod';
import { KronosCardError } from './errors.js';

/**
 * The model card (`card.json`, format `kokex-kronos-card/1`) as `models/kronos` exports it, reduced
 * to what the runtime needs. Vocabulary sizes, context length, layer shapes and preprocessing
 * constants all come from here; nothing about a particular model is hard-coded.
 */
export const GRAPH_NAMES = [
  'tokenizer_encode',
  'tokenizer_decode',
  'tokenizer_decode_kv',
  'predictor_s1',
  'predictor_s1_kv',
  'predictor_s2',
] as const;

/**
 * The graph interface this runtime runs (card field `graph_contract`). 2: the in-place KV cache
 * (per-layer history and generated-slot cache inputs, step outputs holding only the new position),
 * the cached s2 cross-attention and the tokenizer decode of the generated tail.
 */
export const GRAPH_CONTRACT = 2;
export type GraphName = (typeof GRAPH_NAMES)[number];

/** The preprocessing this runtime implements; a card asking for anything else is refused. */
const FEATURES = ['open', 'high', 'low', 'close', 'volume', 'amount'];
const STAMP_COLUMNS = ['minute', 'hour', 'weekday', 'day', 'month'];

const dim = z.union([z.string(), z.number().int()]);
const ioSchema = z.object({ name: z.string(), dtype: z.string(), shape: z.array(dim) });
const graphSchema = z.object({ file: z.string().min(1), inputs: z.array(ioSchema), outputs: z.array(ioSchema) });
const positiveInt = z.number().int().positive();

export const cardSchema = z.object({
  format: z.literal('kokex-kronos-card/1'),
  name: z.string().min(1),
  version: z.string().min(1),
  config: z.object({
    tokenizer: z.object({ s1_bits: positiveInt, s2_bits: positiveInt }).passthrough(),
    predictor: z
      .object({ s1_bits: positiveInt, s2_bits: positiveInt, n_layers: positiveInt, d_model: positiveInt, n_heads: positiveInt })
      .passthrough(),
    max_context: positiveInt,
    lookback: positiveInt.nullish(),
    horizon: positiveInt.nullish(),
  }),
  preprocessing: z.object({
    features: z.array(z.string()),
    eps: z.number().positive(),
    clip: z.number().positive(),
    stamp_columns: z.array(z.string()),
    stamp_sizes: z.array(positiveInt),
  }),
  graphs: z.object(Object.fromEntries(GRAPH_NAMES.map((g) => [g, graphSchema])) as Record<GraphName, typeof graphSchema>),
});
export type KronosCard = z.infer<typeof cardSchema>;

/** What the runtime reads off a card: shapes, limits and preprocessing constants. */
export interface KronosSpec {
  name: string;
  version: string;
  /** Longest token window the predictor was built for. */
  maxContext: number;
  /** Training lookback and horizon when the card records them. */
  lookback: number | undefined;
  horizon: number | undefined;
  /** Vocabulary sizes of the coarse (s1) and fine (s2) sub-tokens. */
  vocabS1: number;
  vocabS2: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  eps: number;
  clip: number;
  /** Table sizes of minute, hour, weekday, day and month. */
  stampSizes: readonly number[];
  files: Record<GraphName, string>;
}

function outputDim(card: KronosCard, graph: GraphName, output: string, axis: number): number | undefined {
  const value = card.graphs[graph].outputs.find((o) => o.name === output)?.shape[axis];
  return typeof value === 'number' ? value : undefined;
}

/** Validates a parsed card.json; `where` names it in errors (a path or a registry key). */
export function readCard(json: unknown, where: string): { card: KronosCard; spec: KronosSpec } {
  const contract = (json as { graph_contract?: unknown } | null)?.graph_contract ?? 1;
  if (contract !== GRAPH_CONTRACT) {
    throw new KronosCardError(
      where,
      `its graphs follow contract ${String(contract)} and this runtime runs contract ${GRAPH_CONTRACT} (the in-place KV cache); re-export the model with \`python3 -m kronos export\` (models/kronos)`,
    );
  }
  const parsed = cardSchema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new KronosCardError(where, `invalid card.json (${detail}); export the model with \`python3 -m kronos export\``);
  }
  const card = parsed.data;
  const { config, preprocessing } = card;
  if (preprocessing.features.join(',') !== FEATURES.join(',')) {
    throw new KronosCardError(where, `features ${preprocessing.features.join(',')} are not the ${FEATURES.join(',')} this runtime builds`);
  }
  if (preprocessing.stamp_columns.join(',') !== STAMP_COLUMNS.join(',')) {
    throw new KronosCardError(where, `stamp columns ${preprocessing.stamp_columns.join(',')} are not ${STAMP_COLUMNS.join(',')}`);
  }
  if (preprocessing.stamp_sizes.length !== STAMP_COLUMNS.length) {
    throw new KronosCardError(where, `stamp_sizes needs ${STAMP_COLUMNS.length} entries, has ${preprocessing.stamp_sizes.length}`);
  }
  const pred = config.predictor;
  if (pred.d_model % pred.n_heads !== 0)
    throw new KronosCardError(where, `d_model ${pred.d_model} is not divisible by n_heads ${pred.n_heads}`);
  const vocabS1 = 2 ** pred.s1_bits;
  const vocabS2 = 2 ** pred.s2_bits;
  // The graphs' declared logits width must agree with the bit counts (a card edited by hand would not).
  for (const [graph, output, want] of [
    ['predictor_s1', 's1_logits', vocabS1],
    ['predictor_s2', 's2_logits', vocabS2],
  ] as const) {
    const declared = outputDim(card, graph, output, 1);
    if (declared !== undefined && declared !== want) {
      throw new KronosCardError(where, `${graph}.${output} has width ${declared} but ${output.slice(0, 2)}_bits gives ${want}`);
    }
  }
  const files = Object.fromEntries(GRAPH_NAMES.map((g) => [g, card.graphs[g].file])) as Record<GraphName, string>;
  return {
    card,
    spec: {
      name: card.name,
      version: card.version,
      maxContext: config.max_context,
      lookback: config.lookback ?? undefined,
      horizon: config.horizon ?? undefined,
      vocabS1,
      vocabS2,
      dModel: pred.d_model,
      nLayers: pred.n_layers,
      nHeads: pred.n_heads,
      eps: preprocessing.eps,
      clip: preprocessing.clip,
      stampSizes: preprocessing.stamp_sizes,
      files,
    },
  };
}

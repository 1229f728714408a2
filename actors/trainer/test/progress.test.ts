import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelProgress } from '@kokex/core';
import { flattenMetrics, progressBar, progressFromLine, TrainerErrorCode } from '../src/index.js';

const SHIPPED_CARD = resolve(__dirname, '../../../models/kronos/shipped/card.json');

describe('progress', () => {
  it('maps the Python protocol to model.progress fields', () => {
    expect(
      progressFromLine({ stage: 'predictor', epoch: 2, step: 7, total_steps: 20, loss: 5.5, rate: 3.2, eta_s: 4.1, lr: 0.001 }),
    ).toEqual({ stage: 'predictor', epoch: 2, step: 7, totalSteps: 20, loss: 5.5, rate: 3.2, etaSeconds: 4.1 });
    expect(
      progressFromLine({ stage: 'tokenizer', event: 'val', epoch: 1, step: 2, train_loss: 1.2, val_loss: 1.1, best: true }),
    ).toMatchObject({
      stage: 'tokenizer',
      loss: 1.2,
      valLoss: 1.1,
      message: 'epoch 1 validated (best so far)',
    });
    expect(progressFromLine({ stage: 'setup', event: 'start', device: 'cpu', train_rows: 210, val_rows: 90, window: 32 })?.stage).toBe(
      'prepare',
    );
    expect(progressFromLine({ stage: 'all', event: 'done' })).toBeUndefined();
  });

  it("flattens the card's metrics into numbers for model.ready", () => {
    const card = JSON.parse(readFileSync(SHIPPED_CARD, 'utf8')) as {
      metrics: { predictor: { best_val_loss: number }; tokenizer: { best: { val_mse_full: number } } };
    };
    const metrics = flattenMetrics(card.metrics);
    // Nested keys become dotted paths holding the card's own numbers (whatever model is shipped).
    expect(metrics['predictor.best_val_loss']).toBe(card.metrics.predictor.best_val_loss);
    expect(metrics['tokenizer.best.val_mse_full']).toBe(card.metrics.tokenizer.best.val_mse_full);
    expect(Object.values(metrics).every((v) => typeof v === 'number' && Number.isFinite(v))).toBe(true);
    expect(Object.keys(metrics).some((k) => k.includes('history') || k.includes('stopped'))).toBe(false);
  });

  it('draws a bar over both stages', () => {
    const p = (over: Partial<ModelProgress>): ModelProgress => ({ inst: 'X', tf: '1H', jobId: 'j', stage: 'prepare', ...over });
    expect(progressBar(p({ stage: 'prepare', message: 'checking' }))).toMatch(/^\[░{30}\]\s+0% prepare checking$/);
    const mid = progressBar(p({ stage: 'predictor', epoch: 1, step: 10, totalSteps: 20, loss: 4.88123, rate: 3.14, etaSeconds: 3.4 }));
    expect(mid).toBe(`[${'█'.repeat(23)}${'░'.repeat(7)}]  75% predictor epoch 1 step 10/20 loss 4.8812 3.1 steps/s eta 3s`);
  });
});

describe('reference docs', () => {
  it('errors.md lists every trainer error code and no other', () => {
    const text = readFileSync(resolve(__dirname, '../../../docs/errors.md'), 'utf8');
    const listed = [...text.matchAll(/^\| `(TRAINER_[A-Z_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(listed).toEqual(Object.values(TrainerErrorCode).sort());
  });
});

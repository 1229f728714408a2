import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MODEL_PRESET_CONTEXT, PlanInvalidError, parsePlan, SHIPPED_MODEL_LOOKBACK } from '@kokex/core';
import { describe, expect, it } from 'vitest';
import { readCard } from '../src/index.js';
import { REPO_ROOT, SHIPPED_DIR } from './support.js';

/**
 * A lookback the model was not built for is refused where the plan is validated, and the plan's
 * default lookback is the one the shipped card was trained on. Core keeps the preset contexts in a
 * table (a plan is validated without the registry); these tests hold it to the shipped card.
 */
const card = readCard(JSON.parse(readFileSync(resolve(SHIPPED_DIR, 'card.json'), 'utf8')), 'shipped');
const demo = readFileSync(resolve(REPO_ROOT, 'plans/demo.yaml'), 'utf8');
const withLookback = (lookback: number, preset = 'shipped') =>
  demo.replace(/lookback: \d+/, `lookback: ${lookback}`).replace(/preset: shipped/, `preset: ${preset}`);

describe('plan lookback against the model context', () => {
  it("core's table and default follow the shipped card", () => {
    expect(MODEL_PRESET_CONTEXT.shipped).toBe(card.spec.maxContext);
    expect(SHIPPED_MODEL_LOOKBACK).toBe(card.spec.lookback);
    const plan = parsePlan(demo, 'demo.yaml');
    expect(plan.spec.forecast.lookback).toBe(card.spec.lookback);
    // The demo's lookback and horizon fit the context, so the KV cache serves every step.
    expect(plan.spec.forecast.lookback + plan.spec.forecast.horizon).toBeLessThanOrEqual(card.spec.maxContext);
  });

  it('refuses a lookback above the context with the limit and the fix', () => {
    let error: unknown;
    try {
      parsePlan(withLookback(256), 'demo.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PlanInvalidError);
    const message = (error as Error).message;
    expect(message).toContain('spec.forecast.lookback: expected at most 128 bars, the context of the shipped model, found 256');
    expect(message).toContain('set forecast.lookback to 96, what the shipped model was trained on, or at most 128');
    expect(() => parsePlan(withLookback(129), 'demo.yaml')).toThrow(/at most 128 bars/);
  });

  it('accepts the context itself, and a longer lookback on a preset whose context holds it', () => {
    expect(parsePlan(withLookback(128), 'demo.yaml').spec.forecast.lookback).toBe(128);
    expect(parsePlan(withLookback(256, 'small'), 'demo.yaml').spec.forecast.lookback).toBe(256);
    expect(() => parsePlan(withLookback(600, 'small'), 'demo.yaml')).toThrow(/at most 512 bars, the context of the small model/);
  });
});

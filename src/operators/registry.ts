/**
 * Every step kind a topology may use, listed explicitly (no registration by import). The order is
 * the order of the reference docs and of the JSON Schema. Adding a step kind: one module
 * (see step-module.ts) and one line here.
 */
import { codeStep } from './code.js';
import { dedupeStep } from './dedupe.js';
import { explodeStep } from './explode.js';
import { filterStep } from './filter.js';
import { keyByStep } from './key-by.js';
import { mapStep } from './map.js';
import type { StepModule } from './step-module.js';
import { windowStep } from './window-aggregate.js';

export const stepRegistry: readonly StepModule[] = [
  filterStep,
  mapStep,
  keyByStep,
  explodeStep,
  dedupeStep,
  windowStep,
  codeStep,
];

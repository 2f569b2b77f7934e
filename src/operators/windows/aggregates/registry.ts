/** The one table from AggregateFn to its implementation. */
import { TributaryError } from '../../../core/errors.js';
import type { AggregateFn } from '../types.js';
import type { AggregateOptions, AnyAggregate } from './aggregate.js';
import { distinctAggregate } from './distinct.js';
import { countAggregate, extremeAggregate, sumAggregate } from './numeric.js';
import { pickAggregate } from './positional.js';

const FACTORIES: Record<AggregateFn, (name: string, opts: AggregateOptions) => AnyAggregate> = {
  count: (name) => countAggregate(name),
  sum: (name) => sumAggregate(name, 'sum'),
  avg: (name) => sumAggregate(name, 'avg'),
  min: (name) => extremeAggregate(name, 'min'),
  max: (name) => extremeAggregate(name, 'max'),
  count_distinct: (name, opts) => distinctAggregate(name, opts),
  first: (name) => pickAggregate(name, 'first'),
  last: (name) => pickAggregate(name, 'last'),
  latest: (name) => pickAggregate(name, 'latest'),
};

export function createAggregate(fn: AggregateFn, name: string, opts: AggregateOptions): AnyAggregate {
  const factory = FACTORIES[fn];
  if (!factory) throw new TributaryError('TRIB_INTERNAL', `unknown aggregate function ${String(fn)}`);
  return factory(name, opts);
}

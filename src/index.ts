export { Engine, type EngineOptions } from './runtime/engine.js';
export { runEngine, type RunOptions, type RunResult, type Progress } from './runtime/runner.js';
export { loadTopology, compileTopology } from './topology/index.js';
export { defineOperator, type UserOperator, type UserOperatorContext, type UserRecord } from './operators/code.js';
export type { TopologyPlan } from './topology/plan.js';
export type { Row, Value, StreamRecord, Origin } from './core/record.js';
export type { Source, Sink, SinkRecord, RawRecord, SourceBatch } from './connectors/types.js';
export { TributaryError, TopologyError, TopologyErrors, SinkBackpressureError, ErrorCodes, type ErrorCode } from './core/errors.js';

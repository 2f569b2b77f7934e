export { TopologyTestDriver, type DriverOptions, type PipeOptions } from './driver.js';
export { ManualSource, MemorySink } from './memory.js';
export { defineOperator, type UserOperator, type UserOperatorContext, type UserRecord } from '../operators/code.js';

export { buildRuleFiles } from './rules/index.js';
export * from './rules/builder.js';

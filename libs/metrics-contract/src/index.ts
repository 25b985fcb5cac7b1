export * from './http.js';
export * from './metrics.js';

export { run, formatSummary } from './cli.js';
export type { Io } from './cli.js';
export { ExitCode } from './exit-codes.js';
export { allowedMutableImages, assertPolicies, parseImageOverrides, summarize, synthesize, writeSynthOutput } from './synth.js';
export type { SynthFile, SynthOptions, SynthResult, SynthSummary } from './synth.js';
export { buildPlatform } from './platform.js';
export type { PlatformPart } from './platform.js';
export { objectRef, sortForApply } from './manifest.js';
export { kindRank } from './waves.js';

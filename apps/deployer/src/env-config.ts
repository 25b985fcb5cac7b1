/**
 * The full, schema-checked env config. The CLI loads this module on demand (`--from` with
 * `--image`, an unknown env): the bundled CLI keeps zod out of every other run, and this
 * module comes from the tsc output (dist/) with the library's own copy of zod.
 */
export { loadEnvConfig } from '@bitpin/config';

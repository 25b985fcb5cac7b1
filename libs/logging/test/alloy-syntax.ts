/**
 * A small structural checker for the Alloy configs this library generates. Grafana Alloy itself
 * cannot be built here (its Go module is not served by the module proxy this workspace uses), so
 * the test checks what a parse would: tokens, balanced blocks, known components with known
 * attributes and blocks (Alloy v1.10 reference), and every component reference resolving to a
 * declared component's export.
 */

export interface AlloyBlock {
  readonly name: string;
  readonly label?: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly blocks: readonly AlloyBlock[];
  /** Dotted identifiers used as values (component exports), not function names. */
  readonly refs: readonly string[];
}

type Tok = { t: 'ident' | 'string' | 'number' | 'punct'; v: string; line: number };

function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') { line++; i++; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith('//', i)) { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\n') throw new Error(`line ${line}: newline in string`);
        if (src[j] === '\\') {
          if (!/[abfnrtv\\"'0-7xuU]/.test(src[j + 1] ?? '')) throw new Error(`line ${line}: bad escape \\${src[j + 1]}`);
          j++;
        }
        j++;
      }
      if (j >= src.length) throw new Error(`line ${line}: unterminated string`);
      toks.push({ t: 'string', v: JSON.parse(src.slice(i, j + 1)) as string, line });
      i = j + 1;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(src.slice(i));
    if (ident) { toks.push({ t: 'ident', v: ident[0], line }); i += ident[0].length; continue; }
    const num = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i));
    if (num) { toks.push({ t: 'number', v: num[0], line }); i += num[0].length; continue; }
    if ('{}[](),=+'.includes(c)) { toks.push({ t: 'punct', v: c, line }); i++; continue; }
    throw new Error(`line ${line}: unexpected character ${JSON.stringify(c)}`);
  }
  return toks;
}

/** Parses Alloy syntax into blocks; attribute values are kept as their source tokens. */
export function parseAlloy(src: string): AlloyBlock[] {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p];
  const next = () => {
    const tok = toks[p++];
    if (!tok) throw new Error('unexpected end of config');
    return tok;
  };
  const expect = (v: string) => {
    const tok = next();
    if (tok.v !== v || tok.t === 'string') throw new Error(`line ${tok.line}: expected '${v}', got '${tok.v}'`);
  };
  let refs: string[] = [];
  function expr(): string {
    // An attribute value: everything up to the next statement at this depth (balanced brackets).
    const parts: string[] = [];
    let depth = 0;
    const startLine = peek()?.line;
    while (p < toks.length) {
      const tok = peek()!;
      if (depth === 0 && tok.line !== startLine && parts.length > 0) break;
      if (depth === 0 && tok.v === '}' && tok.t === 'punct') break;
      next();
      if (tok.t === 'ident' && tok.v.includes('.') && !(peek()?.t === 'punct' && peek()?.v === '(')) refs.push(tok.v);
      if (tok.t === 'punct' && '[('.includes(tok.v)) depth++;
      if (tok.t === 'punct' && '])'.includes(tok.v)) depth--;
      if (depth < 0) throw new Error(`line ${tok.line}: unbalanced '${tok.v}'`);
      parts.push(tok.t === 'string' ? JSON.stringify(tok.v) : tok.v);
    }
    if (depth !== 0) throw new Error(`line ${startLine}: unbalanced brackets in expression`);
    if (parts.length === 0) throw new Error(`line ${startLine}: empty expression`);
    return parts.join(' ');
  }
  function body(closing: boolean): AlloyBlock[] & { attrs?: Map<string, string>; refs?: string[] } {
    const blocks: AlloyBlock[] = [];
    const attrs = new Map<string, string>();
    const outer = refs;
    refs = [];
    while (p < toks.length) {
      const tok = peek()!;
      if (tok.t === 'punct' && tok.v === '}') {
        if (!closing) throw new Error(`line ${tok.line}: unexpected '}'`);
        break;
      }
      const name = next();
      if (name.t !== 'ident') throw new Error(`line ${name.line}: expected a block or attribute name, got '${name.v}'`);
      const after = peek();
      if (after?.t === 'punct' && after.v === '=') {
        next();
        if (attrs.has(name.v)) throw new Error(`line ${name.line}: attribute '${name.v}' set twice`);
        attrs.set(name.v, expr());
        continue;
      }
      let label: string | undefined;
      if (after?.t === 'string') label = next().v;
      expect('{');
      const inner = body(true);
      expect('}');
      blocks.push({ name: name.v, label, attributes: inner.attrs ?? new Map(), blocks: [...inner], refs: inner.refs ?? [] });
    }
    const out = blocks as AlloyBlock[] & { attrs?: Map<string, string>; refs?: string[] };
    out.attrs = attrs;
    out.refs = refs;
    refs = outer;
    return out;
  }
  const top = body(false);
  if (top.attrs && top.attrs.size > 0) throw new Error(`top-level attributes are not allowed: ${[...top.attrs.keys()].join(', ')}`);
  return [...top];
}

/** What each component used here accepts (Alloy v1.10 reference) and exports. */
const COMPONENTS: Record<string, { attrs: string[]; blocks: Record<string, string[]>; exports: string[]; labelled: boolean }> = {
  logging: { attrs: ['level', 'format', 'write_to'], blocks: {}, exports: [], labelled: false },
  'discovery.kubernetes': {
    attrs: ['api_server', 'role', 'kubeconfig_file'],
    blocks: { selectors: ['role', 'label', 'field'], namespaces: ['own_namespace', 'names'] },
    exports: ['targets'],
    labelled: true,
  },
  'discovery.relabel': {
    attrs: ['targets'],
    blocks: { rule: ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'] },
    exports: ['output', 'rules'],
    labelled: true,
  },
  'local.file_match': { attrs: ['path_targets', 'sync_period', 'ignore_older_than'], blocks: {}, exports: ['targets'], labelled: true },
  'loki.source.file': {
    attrs: ['targets', 'forward_to', 'encoding', 'tail_from_end', 'legacy_positions_file'],
    blocks: { decompression: ['enabled', 'initial_delay', 'format'], file_watch: ['min_poll_frequency', 'max_poll_frequency'] },
    exports: [],
    labelled: true,
  },
  'loki.process': {
    attrs: ['forward_to'],
    blocks: { 'stage.cri': ['max_partial_lines', 'max_partial_line_size', 'max_partial_line_size_truncate'], 'stage.label_drop': ['values'] },
    exports: ['receiver'],
    labelled: true,
  },
  'loki.write': {
    attrs: ['external_labels', 'max_streams'],
    blocks: { endpoint: ['url', 'name', 'batch_wait', 'batch_size', 'remote_timeout', 'headers', 'min_backoff_period', 'max_backoff_period', 'max_backoff_retries', 'tenant_id', 'retry_on_http_429'] },
    exports: ['receiver'],
    labelled: true,
  },
};

/**
 * Parses and checks a config; returns the components. Throws with the line or the component
 * named when anything is off.
 */
export function checkAlloy(src: string): AlloyBlock[] {
  const blocks = parseAlloy(src);
  const declared = new Map<string, string[]>();
  for (const b of blocks) {
    const spec = COMPONENTS[b.name];
    if (!spec) throw new Error(`unknown component '${b.name}'`);
    if (spec.labelled !== (b.label !== undefined)) throw new Error(`component '${b.name}' ${spec.labelled ? 'needs' : 'takes no'} label`);
    for (const a of b.attributes.keys()) if (!spec.attrs.includes(a)) throw new Error(`${b.name}: unknown attribute '${a}'`);
    for (const inner of b.blocks) {
      const allowed = spec.blocks[inner.name];
      if (!allowed) throw new Error(`${b.name}: unknown block '${inner.name}'`);
      for (const a of inner.attributes.keys()) if (!allowed.includes(a)) throw new Error(`${b.name} ${inner.name}: unknown attribute '${a}'`);
    }
    const id = `${b.name}.${b.label ?? ''}`;
    if (declared.has(id)) throw new Error(`component ${b.name} "${b.label}" declared twice`);
    declared.set(id, spec.exports);
  }
  // Every dotted identifier in a value must be a declared component's export (function calls
  // such as sys.env(...) are not references).
  const visit = (b: AlloyBlock) => {
    {
      for (const ref of b.refs) {
        const parts = ref.split('.');
        const exp = parts.pop()!;
        const id = `${parts.slice(0, -1).join('.')}.${parts.at(-1)}`;
        const exports = declared.get(id);
        if (!exports) throw new Error(`${b.name}: reference '${ref}' names no declared component`);
        if (!exports.includes(exp)) throw new Error(`${b.name}: '${ref}': ${id} exports no '${exp}'`);
      }
    }
    b.blocks.forEach(visit);
  };
  blocks.forEach(visit);
  return blocks;
}

/**
 * The web application firewall's settings (`--waf`...): plain data, sent to
 * every worker on a reload like the rest of the settings. User rule files
 * travel as their parsed contents, so a reload that changes a rule file is a
 * change of settings, and every worker compiles the same rules.
 */

/** `detect` logs what it would block and passes the request; `block` answers 403. */
export type WafMode = 'detect' | 'block';

/** A rule (or a range of ids) turned off everywhere, under one path prefix, or for one argument. */
export interface WafExclusion {
  readonly ruleFrom: number;
  readonly ruleTo: number;
  readonly pathPrefix: string | null;
  readonly arg: string | null;
}

export interface WafRuleFile {
  readonly path: string;
  /** The file's parsed YAML/JSON (null until read: src/cli/options.ts reads them). */
  readonly contents: unknown;
}

export interface WafSettings {
  readonly mode: WafMode;
  /** 1–4: rules of a higher paranoia level are not run. */
  readonly paranoia: number;
  /** The anomaly score at which a request is blocked (or, in detect mode, logged). */
  readonly threshold: number;
  /** Bytes of a request body inspected (held back until the verdict); 0: bodies are not inspected. */
  readonly bodyLimit: number;
  readonly exclusions: readonly WafExclusion[];
  readonly ruleFiles: readonly WafRuleFile[];
}

/**
 * `--waf-rules FILE`: a user's rule files, read (YAML or JSON, the same
 * parser) when the settings are loaded — at start and on every reload, so
 * editing a rule file and sending SIGHUP applies it — and compiled once
 * there with the shipped rules, so that every problem is reported before an
 * instance runs them.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { WafSettings } from '../protocol/index.js';
import { WafEngine, WafError } from './engine.js';

export type RuleFilesRead = { readonly ok: true; readonly settings: WafSettings } | { readonly ok: false; readonly problems: readonly string[] };

export function readWafRuleFiles(settings: WafSettings): RuleFilesRead {
  const problems: string[] = [];
  const ruleFiles = settings.ruleFiles.map((file) => {
    try {
      return { path: file.path, contents: parseYaml(readFileSync(file.path, 'utf8')) as unknown };
    } catch (error) {
      problems.push(`--waf-rules ${file.path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      return file;
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  const read = { ...settings, ruleFiles };
  try {
    new WafEngine(read);
  } catch (error) {
    if (error instanceof WafError) return { ok: false, problems: error.problems.map((problem) => `--waf-rules ${problem}`) };
    throw error;
  }
  return { ok: true, settings: read };
}

/**
 * The registry of story templates. Add a template by writing its file and listing it here; its id is
 * what `--templates` and `difficulty.templates` name.
 */
import { collection } from './collection.js';
import { compare } from './compare.js';
import { fraction } from './fraction.js';
import { rate } from './rate.js';
import { sharing } from './sharing.js';
import { shopping } from './shopping.js';
import type { Template } from './template.js';
import { time } from './time.js';

export type { Template, TemplateContext } from './template.js';

export const TEMPLATES: readonly Template[] = [collection, shopping, compare, rate, time, sharing, fraction];

export const TEMPLATE_IDS: readonly string[] = TEMPLATES.map((t) => t.id);

export function templateById(id: string): Template {
  const t = TEMPLATES.find((x) => x.id === id);
  if (!t) throw new Error(`unknown template ${id}`);
  return t;
}

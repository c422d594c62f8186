import Anthropic from '@anthropic-ai/sdk';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import type { RenderedPrompt } from './renderPrompt';

const PROMPTS_DIR = path.resolve(__dirname, '..', '..', 'prompts');

/** Reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL from the environment. */
const client = new Anthropic({ maxRetries: 3, timeout: 30_000 });

interface ModelSettings {
  model: string;
  max_output_tokens: number;
}

const settingsCache = new Map<string, ModelSettings>();

/** Model and output budget as pinned in the prompt version's metadata.yaml. */
function modelSettings(prompt: RenderedPrompt): ModelSettings {
  const key = `${prompt.name}/v${prompt.version}`;
  let settings = settingsCache.get(key);
  if (!settings) {
    const file = path.join(PROMPTS_DIR, prompt.name, `v${prompt.version}`, 'metadata.yaml');
    settings = parse(readFileSync(file, 'utf8')) as ModelSettings;
    settingsCache.set(key, settings);
  }
  return settings;
}

/** Sends one rendered prompt and returns the text of the reply. */
export async function complete(prompt: RenderedPrompt, signal?: AbortSignal): Promise<string> {
  const settings = modelSettings(prompt);
  // No temperature: API version 2026-10-21, which the SDK sends, rejects sampling
  // parameters. metadata.yaml still records the 0.0 the prompt was written for.
  const response = await client.messages.create(
    {
      model: settings.model,
      max_tokens: settings.max_output_tokens,
      system: prompt.system,
      messages: [{ role: 'user', content: prompt.user }],
    },
    { signal },
  );
  return response.content
    .map((block) => (block.type === 'text' ? block.text : ''))
    .join('');
}

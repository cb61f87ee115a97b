// Chat messages to a prompt. When the folder's tokenizer_config.json has a
// `chat_template` (Jinja, the Hugging Face convention), it is rendered with
// `messages`, `add_generation_prompt: true`, `bos_token` and `eos_token`, and
// the result is tokenized without adding special tokens (the template writes
// them), as transformers' `apply_chat_template` does. The Jinja engine is
// `@huggingface/jinja`, loaded on demand.
//
// Without a template the server uses this documented default [P]:
//   <system content>\n\n          (each system message, first)
//   User: <content>\n             (user turns)
//   Assistant: <content>\n        (assistant turns)
//   Assistant:                    (the generation prompt)
// tokenized with the tokenizer's special tokens (BOS), and `\nUser:` is added to
// the stop strings so the model does not write the user's next turn.
import { ConfigError } from '../src/errors.js';

/** A chat message with its content flattened to text. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A rendered chat prompt. */
export interface ChatPrompt {
  text: string;
  /** Let the tokenizer add BOS (the default template) or not (a Jinja template writes it). */
  addSpecialTokens: boolean;
  /** Extra stop strings the format needs. */
  stop: string[];
}

/** Renders chat prompts for one model. */
export interface ChatFormatter {
  /** `jinja` (from tokenizer_config.json) or `default`. */
  readonly kind: 'jinja' | 'default';
  /** The template source, or null for the default. */
  readonly template: string | null;
  render(messages: ChatMessage[]): ChatPrompt;
}

/** Stop string of the default format. */
export const DEFAULT_CHAT_STOP = '\nUser:';

/** The default format (see the file header). */
export function defaultChatFormat(messages: ChatMessage[]): string {
  const system = messages.filter((m) => m.role === 'system').map((m) => `${m.content}\n\n`);
  const turns = messages
    .filter((m) => m.role !== 'system')
    .map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}\n`);
  return `${system.join('')}${turns.join('')}Assistant:`;
}

function tokenText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const c = (value as { content: unknown }).content;
    if (typeof c === 'string') return c;
  }
  return '';
}

/** The formatter of a model from its tokenizer_config.json. */
export async function chatFormatter(
  tokenizerConfig: Record<string, unknown>,
): Promise<ChatFormatter> {
  const source = tokenizerConfig.chat_template;
  if (typeof source !== 'string' || source.trim() === '') {
    return {
      kind: 'default',
      template: null,
      render: (messages) => ({
        text: defaultChatFormat(messages),
        addSpecialTokens: true,
        stop: [DEFAULT_CHAT_STOP],
      }),
    };
  }
  let Template: new (source: string) => { render(vars: Record<string, unknown>): string };
  try {
    ({ Template } = await import('@huggingface/jinja'));
  } catch (e) {
    throw new ConfigError(
      `tokenizer_config.json has a chat_template, but @huggingface/jinja cannot be loaded (${(e as Error).message})`,
      'npm install @huggingface/jinja',
    );
  }
  let template: { render(vars: Record<string, unknown>): string };
  try {
    template = new Template(source);
  } catch (e) {
    throw new ConfigError(
      `tokenizer_config.json: chat_template does not parse: ${(e as Error).message}`,
    );
  }
  const vars = {
    bos_token: tokenText(tokenizerConfig.bos_token),
    eos_token: tokenText(tokenizerConfig.eos_token),
    add_generation_prompt: true,
  };
  return {
    kind: 'jinja',
    template: source,
    render: (messages) => {
      let text: string;
      try {
        text = template.render({ ...vars, messages });
      } catch (e) {
        throw new ConfigError(
          `the chat template failed on these messages: ${(e as Error).message}`,
        );
      }
      return { text, addSpecialTokens: false, stop: [] };
    },
  };
}

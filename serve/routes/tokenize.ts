// POST /tokenize and POST /detokenize in both spellings (conventions.md 1.6):
// llama.cpp `{content, add_special, with_pieces}` and vLLM `{prompt,
// add_special_tokens}` in; `{tokens, count, max_model_len}` out (tokens as
// `{id, piece}` with `with_pieces`); detokenize returns `content` and `prompt`.
import { Router } from 'express';
import { parseBody } from '../body.js';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import { detokenizeSchema, tokenizeSchema } from '../schemas.js';

/** The tokenizer router. */
export function tokenizeRouter(ctx: ServerContext): Router {
  const router = Router();
  router.post('/tokenize', (req, res) => {
    const body = parseBody(tokenizeSchema, req);
    const text = body.content ?? body.prompt;
    if (text === undefined) throw badRequest("'content' (or 'prompt') is required", 'content');
    const tok = ctx.engine.tokenizer;
    const ids = tok.encode(text, {
      addSpecialTokens: body.add_special ?? body.add_special_tokens ?? true,
    });
    res.json({
      tokens: body.with_pieces ? ids.map((id) => ({ id, piece: tok.idToToken(id) })) : ids,
      count: ids.length,
      max_model_len: ctx.engine.info.context_length,
    });
  });
  router.post('/detokenize', (req, res) => {
    const body = parseBody(detokenizeSchema, req);
    const tok = ctx.engine.tokenizer;
    const bad = body.tokens.findIndex((id) => id >= tok.vocabSize);
    if (bad >= 0) {
      throw badRequest(
        `'tokens.${bad}': token id ${body.tokens[bad]} is outside the vocabulary (0..${tok.vocabSize - 1})`,
        `tokens.${bad}`,
      );
    }
    const text = tok.decode(body.tokens, { skipSpecialTokens: true });
    res.json({ content: text, prompt: text });
  });
  return router;
}

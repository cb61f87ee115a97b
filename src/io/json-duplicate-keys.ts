// Finds duplicate object keys in JSON text. JSON.parse silently keeps the last of
// two equal keys, so a safetensors header naming one tensor twice would parse
// "fine"; this scanner walks the text once (no recursion, so deep nesting is safe)
// and reports the first key seen twice in the same object.

/** A key that occurs twice in one object, and the keys of the objects around it. */
export interface DuplicateKey {
  key: string;
  /** Keys leading to the object that holds the duplicate; `[]` for the top level. */
  path: string[];
}

interface Frame {
  /** Keys seen so far; null for an array. */
  keys: Set<string> | null;
  /** True right after `{` or `,` in an object: the next string is a key. */
  expectKey: boolean;
  /** The key whose value is being read in this object. */
  current: string | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Return the first duplicate key in `text`, or null when there is none.
 * `text` must already be known to be valid JSON (parse it first).
 */
export function findDuplicateKey(text: string): DuplicateKey | null {
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i++;
      let escaped = false;
      while (text.charCodeAt(i) !== QUOTE) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
        i++;
      }
      i++;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const raw = text.slice(start, i);
        // Escapes are decoded so that "a" and "\u0061" count as the same key.
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.keys.has(key)) {
          const path = stack.slice(0, -1).flatMap((f) => (f.current === null ? [] : [f.current]));
          return { key, path };
        }
        top.keys.add(key);
        top.expectKey = false;
        top.current = key;
      }
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), expectKey: true, current: null });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, expectKey: false, current: null });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.keys) top.expectKey = true;
    }
    i++;
  }
  return null;
}

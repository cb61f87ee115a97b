// Entry of a generation worker when the server runs from its TypeScript sources
// (vitest, tsx): worker threads do not inherit the parent's TypeScript loader, so
// this registers tsx's ESM loader in the thread and then loads worker.ts. The
// compiled server (dist/) starts workers on dist/serve/worker.js directly.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./worker.ts');

export default worker.default;

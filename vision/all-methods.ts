// Every training method of `snnlm vision`, registered on import. The built-in rows
// live in methods.ts; a method in a file of its own registers itself with
// `registerVisionMethod` and is imported here (one line), so the CLI, the results
// table script and the tests all see the same list.
import './methods.js';
import './equilibrium.js';

export { visionMethod, visionMethodNames } from './methods.js';

/** Entry point of the bundle (dist/neurite.js) and of the supervisor's children. */
import { fileURLToPath } from 'node:url';
import { main } from './cli/main.js';
import { loadComponent } from './components/registry.js';

const entry = fileURLToPath(import.meta.url);
main(process.argv.slice(2), entry, loadComponent).then((code) => {
  // A child keeps running after main returns; every other command ends here.
  if (code >= 0) process.exitCode = code;
});

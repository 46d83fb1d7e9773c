// `npm start`: the demo from a checkout (a development OpenID provider on :8081, a demo app on :3000, gatehouse on
// :8080), wired from config/demo.yaml or --config PATH. It needs the development dependencies, so it is not part
// of the published package.
import { parseArgs } from 'node:util';
import { exitOnConfigError, exitOnSignals } from '../src/cli/process.js';
import { startDemoStack } from './stack.js';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
const stack = await startDemoStack({ configPath: values.config }).catch(exitOnConfigError);
exitOnSignals(() => stack.stop());

// npm run bundle -- [file]: builds the workflow bundle once (webpack), so a worker
// started with WORKFLOW_BUNDLE=<file> loads it instead of bundling the workflow
// code at every start. The Docker image does this at build time. Rebuild it
// whenever workflows/ changes: a worker runs exactly the code in its bundle.
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows') });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, code);
  console.log(`workflow bundle written to ${out} (${Math.round(code.length / 1024)} KB)`);
}

main().catch((err: unknown) => {
  console.error(`bundle failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

/**
 * The README's commands, as the deployment tests read them: CI must run exactly what the README
 * tells a developer to run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** Commands of each fenced block of README.md, trailing `# comments` and blank lines removed. */
export function readmeCommandBlocks(): string[][] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) =>
    m[1]
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
}

/** The Quick start block: the fenced block whose commands include `npm start` and `npm test`. */
export function quickStartCommands(): string[] | undefined {
  return readmeCommandBlocks().find((b) => b.includes('npm test') && b.includes('npm start'));
}

/** The README's test command (from Quick start). Throws when the README has none. */
export function readmeTestCommand(): string {
  const block = quickStartCommands();
  const cmd = block?.find((c) => /^npm (run )?test\b/.test(c));
  if (!cmd) throw new Error('README.md has no Quick start block with `npm start` and `npm test`');
  return cmd;
}

import { existsSync } from 'node:fs';

/**
 * Where the dashboard's browser tests (test/e2e) find Chromium. They drive Debian's
 * Chromium through playwright-core, which brings no browser of its own. Without one a
 * developer's `npm test` skips them (global-setup prints one line saying how to run them);
 * CI (`CI=true`, .ci/run installs Chromium first) fails instead, so a missing browser
 * never passes silently there.
 */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const CHROMIUM_HINT =
  'the dashboard browser tests (test/e2e) need Chromium: apt-get install -y chromium, or set CHROMIUM_PATH=/path/to/chromium';

/** The Chromium to launch: CHROMIUM_PATH when set (and nothing else), else the first one installed. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env.CI && env.CI !== 'false' && env.CI !== '0';
}

/**
 * For a browser test file: the Chromium to launch, or undefined to skip the file. Throws
 * under CI, where the browser tests must run.
 */
export function chromiumForTests(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const found = findChromium(env);
  if (!found && isCi(env)) {
    throw new Error(`CI=true and no Chromium${env.CHROMIUM_PATH ? ` at CHROMIUM_PATH=${env.CHROMIUM_PATH}` : ''}: ${CHROMIUM_HINT} (.ci/run installs it)`);
  }
  return found;
}

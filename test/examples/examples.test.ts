/**
 * The example dapp projects pass their own tests (TypeScript type check, in-process chains, Solidity
 * tests, forks of two live stand-in networks) in fresh projects installed from the packed tarballs.
 * The test command's setup prepares them (scripts/examples.ts prepare); this runs them.
 */
import assert from "node:assert/strict";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EXAMPLES, exampleDir, testExample } from "../../scripts/examples.ts";

describe("example dapp projects, from packed tarballs", { timeout: 600_000 }, () => {
  for (const name of EXAMPLES) {
    it(`${name} passes its own tests, forks included, with nothing skipped`, async () => {
      await access(join(exampleDir(name), "node_modules", "@mpc-relay", "testkit")).catch(() => {
        throw new Error(`${name} is not installed in ${exampleDir(name)}: run \`npm run examples:prepare\` (npm test does)`);
      });
      const output = await testExample(name);
      const total = /^(\d+) passing \(/m.exec(output);
      assert.ok(total !== null && Number(total[1]) >= 3, `the example's tests ran:\n${output}`);
      assert.doesNotMatch(output, /^\s*[1-9]\d* (failing|skipped|pending)/m, `nothing failed or was skipped (the fork tests need the live networks):\n${output}`);
    });
  }
});

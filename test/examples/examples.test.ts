/**
 * The example projects pass their own tests in fresh projects installed from the packed tarballs: the
 * dapps (type check, in-process chains, Solidity tests, forks of two live stand-in networks) and an
 * operator's install of the CLI (identity, config check, a signer node started and stopped, the explorer's page served).
 * The test command's setup prepares them (scripts/examples.ts prepare); this runs them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXAMPLES, exampleDir, isPrepared, testExample } from "../../scripts/examples.ts";

describe("example projects, from packed tarballs", { timeout: 600_000 }, () => {
  for (const name of EXAMPLES) {
    it(`${name} passes its own tests, forks included, with nothing skipped`, async () => {
      assert.ok(await isPrepared(name), `${name} is not installed in ${exampleDir(name)}: run \`npm run examples:prepare\` (npm test does)`);
      const output = await testExample(name);
      // Hardhat's reporter ("6 passing", "1 skipped"), or node --test's ("# pass 2", "# skipped 0").
      const total = /^(\d+) passing \(/m.exec(output) ?? /^# pass (\d+)$/m.exec(output);
      assert.ok(total !== null && Number(total[1]) >= 2, `the example's tests ran:\n${output}`);
      assert.doesNotMatch(
        output,
        /^\s*[1-9]\d* (failing|skipped|pending)|^# (fail|skipped|todo|cancelled) [1-9]/m,
        `nothing failed or was skipped (the fork tests need the live networks):\n${output}`,
      );
    });
  }
});

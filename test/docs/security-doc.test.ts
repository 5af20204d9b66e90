/**
 * docs/security.md names, for every rule, the test that shows it. This keeps
 * those references true: each `file › test name` must be a test (or helper,
 * for `file › function`) that exists in that file.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describe, it } from "node:test";

const ROOT = resolve(import.meta.dirname, "../..");
const REFERENCE = /`([\w./-]+\.(?:ts|sol)) › ([^`]+)`/g;

describe("docs/security.md", () => {
  it("names only tests that exist", async () => {
    const doc = await readFile(resolve(ROOT, "docs/security.md"), "utf8");
    const references = [...doc.matchAll(REFERENCE)].map((m) => ({ file: m[1]!, name: m[2]! }));
    assert.ok(references.length >= 30, `the threat model cites its tests (${references.length} found)`);
    const missing: string[] = [];
    for (const { file, name } of references) {
      const source = await readFile(resolve(ROOT, "test", file), "utf8").catch(() => null);
      if (source === null) {
        missing.push(`${file} (no such file)`);
        continue;
      }
      const quoted = [`"${name}"`, `'${name}'`, `\`${name}\``, `function ${name}(`];
      if (!quoted.some((q) => source.includes(q))) missing.push(`${file} › ${name}`);
    }
    assert.deepEqual(missing, [], "references to tests that do not exist");
  });

  it("cites a test for every rule", async () => {
    const doc = await readFile(resolve(ROOT, "docs/security.md"), "utf8");
    const rows = doc.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| Rule") && !line.startsWith("|---") && !line.startsWith("| Frame"));
    const ruleRows = rows.filter((line) => line.split("|").length === 4);
    for (const row of ruleRows) {
      const [, , tests] = row.split("|");
      assert.match(tests ?? "", /`[\w./-]+\.(?:ts|sol)( › [^`]+)?`/, `a rule without a test: ${row.slice(0, 120)}`);
    }
  });
});

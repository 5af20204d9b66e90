/**
 * Builds the explorer's browser page: bundles web/src/main.tsx (Preact, Chart.js) into dist/explorer-web/app.js, web/style.css
 * (which imports web/styles/*.css) into style.css, and copies web/index.html beside them: the three files the explorer server
 * serves. Exits non-zero on any build error.
 *
 *   tsx scripts/build-explorer.ts
 */
import { build, formatMessages, type Message } from "esbuild";
import { copyFile, mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const web = path.join(root, "web");
const out = path.join(root, "dist", "explorer-web");

function hasErrors(error: unknown): error is { errors: Message[] } {
  return typeof error === "object" && error !== null && "errors" in error && Array.isArray(error.errors) && error.errors.length > 0;
}

async function main(): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const common = { bundle: true, minify: true, sourcemap: false, legalComments: "none", logLevel: "silent" } as const;
  await build({
    ...common,
    entryPoints: [path.join(web, "src", "main.tsx")],
    outfile: path.join(out, "app.js"),
    tsconfig: path.join(web, "tsconfig.json"),
    format: "esm",
    target: "es2022",
    platform: "browser",
    jsx: "automatic",
    jsxImportSource: "preact",
  });
  await build({ ...common, entryPoints: [path.join(web, "style.css")], outfile: path.join(out, "style.css") });
  await copyFile(path.join(web, "index.html"), path.join(out, "index.html"));
  const kib = async (file: string) => `${file} ${((await stat(path.join(out, file))).size / 1024).toFixed(0)} KiB`;
  console.log(`explorer page built: ${path.relative(root, out)}/ (${await kib("app.js")}, ${await kib("style.css")}, index.html)`);
}

try {
  await main();
} catch (error) {
  if (hasErrors(error)) {
    const text = await formatMessages(error.errors, { kind: "error", color: process.stderr.isTTY });
    console.error(`explorer page build failed:\n${text.join("")}`);
  } else {
    console.error(`explorer page build failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exitCode = 1;
}

// TypeScript lint: the recommended rules plus the type-aware ones that catch lost promises and errors.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const typedRules = {
  // node:test's describe/it return promises the runner itself awaits.
  "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] }],
  "@typescript-eslint/no-misused-promises": "error",
  "@typescript-eslint/await-thenable": "error",
  // hardhat-viem's typed artifacts come in through reference paths to generated declarations.
  "@typescript-eslint/triple-slash-reference": ["error", { path: "always" }],
  "@typescript-eslint/only-throw-error": "error",
  "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
};

// The browser globals the explorer page uses (no "globals" package in the tree).
const browserGlobals = Object.fromEntries(
  "window document navigator location history console fetch Response Request Headers URL URLSearchParams AbortController AbortSignal Event HashChangeEvent HTMLElement HTMLInputElement HTMLSelectElement HTMLCanvasElement setTimeout clearTimeout setInterval clearInterval requestAnimationFrame cancelAnimationFrame ResizeObserver"
    .split(" ")
    .map((name) => [name, "readonly"]),
);

export default tseslint.config(
  { ignores: ["**/dist/", "contracts/build/", "artifacts/", "cache/", "types/", "node_modules/", ".tools/", "coverage/", "packages/sdk/src/abi.ts", "packages/testkit/src/bytecode.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Plain JavaScript (the operator example's test) runs under Node: its globals.
  { files: ["**/*.mjs"], languageOptions: { globals: { process: "readonly", fetch: "readonly", setTimeout: "readonly", console: "readonly", URL: "readonly" } } },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: typedRules,
  },
  // The explorer's browser page (web/): typed through its own tsconfig (DOM, JSX), with the browser's globals.
  {
    files: ["web/**/*.{ts,tsx}"],
    languageOptions: {
      globals: browserGlobals,
      parserOptions: { projectService: false, project: ["./web/tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: typedRules,
  },
);

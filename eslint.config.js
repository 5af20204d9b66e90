// TypeScript lint: the recommended rules plus the type-aware ones that catch lost promises and errors.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/", "contracts/build/", "artifacts/", "cache/", "types/", "node_modules/", ".tools/", "coverage/", "packages/sdk/src/abi.ts", "packages/testkit/src/bytecode.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Plain JavaScript (the operator example's test) runs under Node: its globals.
  { files: ["**/*.mjs"], languageOptions: { globals: { process: "readonly", fetch: "readonly", setTimeout: "readonly", console: "readonly" } } },
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] }],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      // hardhat-viem's typed artifacts come in through reference paths to generated declarations.
      "@typescript-eslint/triple-slash-reference": ["error", { path: "always" }],
      "@typescript-eslint/only-throw-error": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);

/**
 * Secrets a process reads at start: from a file that only its owner may read
 * (one permission rule for every key file: node identity, operator key,
 * relayer identity and submitter key), or from an environment variable.
 * Never from a config file itself.
 */
import { readFile, stat } from "node:fs/promises";

export class SecretSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SecretSourceError";
  }
}

/** The trimmed content of a secret file; refuses a file others can read or write (chmod 600). */
export async function readSecretFile(path: string, what: string): Promise<string> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    throw new SecretSourceError(`${what} file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
  if ((mode & 0o077) !== 0) throw new SecretSourceError(`${what} file ${path} must be readable by its owner only (chmod 600; it is ${(mode & 0o777).toString(8)})`);
  return (await readFile(path, "utf8")).trim();
}

/** A secret from exactly one of a file or an environment variable. */
export async function readSecret(source: { file?: string | undefined; env?: string | undefined }, what: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (source.file !== undefined) return readSecretFile(source.file, what);
  if (source.env !== undefined) {
    const value = env[source.env];
    if (value === undefined || value.trim() === "") throw new SecretSourceError(`environment variable ${source.env} (${what}) is not set`);
    return value.trim();
  }
  throw new SecretSourceError(`${what}: give a file or an environment variable`);
}

/** Where this installation lives: the folder with its package.json (artifacts, node_modules, dist). */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The nearest folder above this file with a package.json: the repository, from the sources and from dist/ alike. */
function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const projectRoot = findProjectRoot(import.meta.dirname);

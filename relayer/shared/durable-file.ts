/**
 * A file replaced whole or not at all, and on disk when the call returns: written to a temporary file,
 * fsynced, renamed over the old one, and the rename fsynced through the folder. A crash leaves the old
 * file or the new one, never a mix, and never brings back what was replaced.
 */
import { mkdir, open, rename } from "node:fs/promises";
import { dirname } from "node:path";

export async function writeFileDurably(path: string, data: string, mode = 0o600): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp`;
  const file = await open(temporary, "w", mode);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const dir = await open(folder, "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

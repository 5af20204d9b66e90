/** Structured JSON logs for the relayer: the node's logger, tagged component "relayer". */
import { createLogger, type Logger, type LogLevel } from "../shared/log.ts";

export type { LogLevel };

/** The relayer only logs; it never derives child loggers. */
export type RelayLogger = Pick<Logger, "debug" | "info" | "warn" | "error">;

export function relayLogger(minLevel: LogLevel = "info", write?: (line: string) => void): RelayLogger {
  return createLogger({ component: "relayer" }, minLevel, write);
}

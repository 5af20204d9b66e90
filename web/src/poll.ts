/** Loading a page's data and refreshing it on a timer, keeping the last good answer when a refresh fails. */
import { useEffect, useRef, useState } from "preact/hooks";
import { asApiError, type ApiError } from "./api.ts";

export interface Polled<T> {
  data: T | null;
  error: ApiError | null;
  /** When `data` was read (epoch ms). */
  readAt: number | null;
  loading: boolean;
}

export interface PollOptions<T> {
  intervalMs: number;
  /** Keep showing the previous key's data while the new key loads (a list being filtered). */
  keepOnChange?: boolean;
  /** Stop refreshing once this says no (a message that reached a final state). */
  keepGoing?: (data: T) => boolean;
}

/** Loads `load` now and every `intervalMs` after the previous load ends; a new `key` starts over. */
export function usePoll<T>(key: string, load: (signal: AbortSignal) => Promise<T>, options: PollOptions<T>): Polled<T> {
  const [state, setState] = useState<Polled<T> & { key: string }>({ key, data: null, error: null, readAt: null, loading: true });
  const loadRef = useRef(load);
  loadRef.current = load;
  const optionsRef = useRef(options);
  optionsRef.current = options;

  useEffect(() => {
    let active = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let controller: AbortController | undefined;
    setState((previous) => (optionsRef.current.keepOnChange === true ? { ...previous, loading: true } : { key, data: null, error: null, readAt: null, loading: true }));

    const run = async () => {
      controller = new AbortController();
      let again = true;
      try {
        const data = await loadRef.current(controller.signal);
        if (!active) return;
        setState({ key, data, error: null, readAt: Date.now(), loading: false });
        again = optionsRef.current.keepGoing?.(data) ?? true;
      } catch (error) {
        if (!active) return;
        // A request refused as malformed will not improve by asking again; a missing message costs the server a search of
        // every chain, so it is asked again only when the person reloads; a busy server is asked again later.
        const status = asApiError(error).status;
        if (status === 400 || status === 404 || status === 405 || status === 422) again = false;
        if (status === 429 && active) {
          timer = setTimeout(() => void run(), optionsRef.current.intervalMs * 4);
          again = false;
        }
        // A refresh that failed keeps the data it refreshes; data of another key (the query before) is not shown as this one's.
        setState((previous) => (previous.key === key ? { ...previous, error: asApiError(error), loading: false } : { key, data: null, error: asApiError(error), readAt: null, loading: false }));
      }
      if (active && again) timer = setTimeout(() => void run(), optionsRef.current.intervalMs);
    };
    void run();

    return () => {
      active = false;
      if (timer !== undefined) clearTimeout(timer);
      controller?.abort();
    };
  }, [key]);

  return state;
}

/** The current time, updated every `everyMs` (for "12 s ago" texts that must move on their own). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

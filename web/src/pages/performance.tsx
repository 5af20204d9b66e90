/** #/performance?window=<ms>: delivery and signing latency, throughput, backlog and gas over a time window. */
import { useMemo } from "preact/hooks";
import type { PerformanceView } from "../../../relayer/explorer/api-types.ts";
import { api } from "../api.ts";
import { ChartFigure } from "../charts.tsx";
import { LoadStatus } from "../components.tsx";
import { useChains } from "../config.ts";
import { milliseconds } from "../format.ts";
import { backlog, deliveryLatency, gasSpent, latencyHistogram, signingLatency, throughput, totals } from "../perf-charts.ts";
import { usePoll } from "../poll.ts";
import { navigate, performanceHash, WINDOWS } from "../router.ts";

const REFRESH_MS = 10_000;

export function PerformancePage({ windowMs }: { windowMs: number }) {
  const polled = usePoll(String(windowMs), (signal) => api.performance(windowMs, signal), { intervalMs: REFRESH_MS, keepOnChange: true });
  const windows: { label: string; ms: number }[] = [...WINDOWS];
  if (!windows.some((w) => w.ms === windowMs)) windows.push({ label: milliseconds(windowMs), ms: windowMs });
  return (
    <div class="page">
      <h1>Performance</h1>
      <div class="filters">
        <label>
          Window
          <select value={String(windowMs)} onChange={(event) => navigate(performanceHash(Number(event.currentTarget.value)))}>
            {windows.map((w) => (
              <option key={w.ms} value={String(w.ms)}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <LoadStatus loading={polled.loading} error={polled.error} hasData={polled.data !== null} readAt={polled.readAt} />
      {polled.data !== null && <Charts view={polled.data} />}
    </div>
  );
}

function Charts({ view }: { view: PerformanceView }) {
  const chains = useChains();
  const routeName = (route: string) => {
    const match = /^(\d+)-(\d+)$/.exec(route);
    return match === null ? route : `${chains.name(Number(match[1]))} → ${chains.name(Number(match[2]))}`;
  };
  // One set of configurations per answer: a chart is destroyed and drawn again only when its data was read again.
  const charts = useMemo(
    () => ({
      delivery: deliveryLatency(view, routeName),
      histogram: latencyHistogram(view),
      signing: signingLatency(view),
      throughput: throughput(view),
      backlog: backlog(view, routeName),
      gas: gasSpent(view),
      totals: totals(view),
    }),
    [view, chains.list],
  );
  const t = charts.totals;
  return (
    <>
      <p class="totals" aria-label="Totals">
        {new Date(view.from).toLocaleString()} – {new Date(view.to).toLocaleString()}: {t.deliveries} {t.deliveries === 1 ? "delivery" : "deliveries"}
        {t.median !== null && `, median latency ${milliseconds(t.median)}`}
        {t.p95 !== null && `, p95 ${milliseconds(t.p95)}`}, {t.seen} seen,{" "}
        {t.gasTxs === 0 ? "no gas spent" : `${t.gasTxs} ${t.gasTxs === 1 ? "transaction" : "transactions"} costing ${t.costEther.toFixed(6)} ETH`}
      </p>
      <div class="charts">
        <ChartFigure title="Delivery latency over time" config={charts.delivery} />
        <ChartFigure title="Delivery latency distribution" config={charts.histogram} />
        <ChartFigure title="Signing latency" config={charts.signing} />
        <ChartFigure title="Throughput" config={charts.throughput} />
        <ChartFigure title="Backlog per route" config={charts.backlog} />
        <ChartFigure title="Gas spent" config={charts.gas} />
      </div>
    </>
  );
}

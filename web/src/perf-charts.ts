/** The performance page's charts as Chart.js configurations, built from one PerformanceView (null: nothing to draw). */
import type { ChartConfiguration, ChartOptions } from "chart.js";
import type { PerformanceView } from "../../relayer/explorer/api-types.ts";
import { colour } from "./charts.tsx";
import { dateTime, durationWords, milliseconds, parseWei, timeTick, weiToEther } from "./format.ts";

type Point = { x: number; y: number };
/** One scale of a cartesian chart, as the chart options take it (every field optional). */
type Axis = NonNullable<NonNullable<ChartOptions<"line">["scales"]>[string]>;

const MINUTE = 60_000;
const ROUND_DURATIONS = [
  10,
  20,
  50,
  100,
  200,
  500,
  1_000,
  2_000,
  5_000,
  10_000,
  30_000,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  60 * MINUTE,
  180 * MINUTE,
  600 * MINUTE,
  1440 * MINUTE,
];
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880].map((m) => m * MINUTE);

/** Ticks every `step` from `from` to `to`, at round local times (midnight, the hour, ...). */
function roundTicks(from: number, to: number, step: number): { value: number }[] {
  const offset = new Date(from).getTimezoneOffset() * MINUTE;
  const ticks: { value: number }[] = [];
  for (let t = Math.ceil((from - offset) / step) * step + offset; t <= to; t += step) ticks.push({ value: t });
  return ticks;
}

/** A linear x-axis of epoch ms over the window, ticks at round times shown as local times (no date adapter needed). */
function timeAxis(view: PerformanceView): Axis {
  const span = view.to - view.from;
  const step = STEPS.find((s) => span / s <= 8) ?? Math.ceil(span / 8);
  return {
    type: "linear",
    min: view.from,
    max: view.to,
    afterBuildTicks: (scale) => {
      scale.ticks = roundTicks(view.from, view.to, step);
    },
    ticks: { autoSkip: false, callback: (value) => timeTick(Number(value), span, step) },
  };
}

/** Milliseconds on y; logarithmic when a few slow ones (a retry minutes later) would flatten the rest against zero. */
function msAxis(title: string, values: number[]): Axis {
  const sorted = values.filter((v) => v > 0).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const max = sorted.at(-1) ?? 0;
  const text = { display: true, text: title };
  if (median > 0 && max / median > 20) {
    return {
      type: "logarithmic",
      title: text,
      // Ticks at round durations (1 s, 10 s, 1 min, ...), at most 8.
      afterBuildTicks: (scale) => {
        const inRange = ROUND_DURATIONS.filter((v) => v >= scale.min && v <= scale.max);
        const every = Math.ceil(inRange.length / 8);
        scale.ticks = inRange.filter((_, i) => i % every === 0).map((value) => ({ value }));
      },
      ticks: { callback: (value) => milliseconds(Number(value)) },
    };
  }
  return { type: "linear", beginAtZero: true, title: text, ticks: { callback: (value) => milliseconds(Number(value)) } };
}

/** A tooltip's title: the point's local date and time. */
const timeTitle = (items: { parsed: { x: number | null } }[]) => {
  const x = items[0]?.parsed.x;
  return x === undefined || x === null ? "" : dateTime(x);
};

export function deliveryLatency(view: PerformanceView, routeName: (route: string) => string): ChartConfiguration<"scatter"> | null {
  if (view.deliveries.length === 0) return null;
  const routes = new Map<string, Point[]>();
  for (const d of view.deliveries) {
    const key = `${d.srcChainId}-${d.dstChainId}`;
    routes.set(key, [...(routes.get(key) ?? []), { x: d.at, y: d.latencyMs }]);
  }
  return {
    type: "scatter",
    data: { datasets: [...routes].map(([route, data], i) => ({ label: routeName(route), data, backgroundColor: colour(i), borderColor: colour(i), pointRadius: 3 })) },
    options: {
      scales: {
        x: timeAxis(view),
        y: msAxis(
          "latency",
          view.deliveries.map((d) => d.latencyMs),
        ),
      },
      plugins: { tooltip: { callbacks: { title: timeTitle, label: (item) => `${String(item.dataset.label)}: ${milliseconds(item.parsed.y ?? 0)}` } } },
    },
  };
}

export function latencyHistogram(view: PerformanceView): ChartConfiguration<"bar"> | null {
  if (view.latencyHistogram.every((b) => b.count === 0)) return null;
  return {
    type: "bar",
    data: {
      // The last bucket is open-ended (no upper bound): "> the one before".
      labels: view.latencyHistogram.map((b, i) => (b.upperMs !== null ? `≤ ${milliseconds(b.upperMs)}` : `> ${milliseconds(view.latencyHistogram[i - 1]?.upperMs ?? 0)}`)),
      datasets: [{ label: "deliveries", data: view.latencyHistogram.map((b) => b.count), backgroundColor: colour(0) }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "deliveries" } } } },
  };
}

export function signingLatency(view: PerformanceView): ChartConfiguration<"scatter"> | null {
  if (view.signing.length === 0) return null;
  return {
    type: "scatter",
    data: { datasets: [{ label: "signature", data: view.signing.map((s) => ({ x: s.at, y: s.latencyMs })), backgroundColor: colour(3), borderColor: colour(3), pointRadius: 3 }] },
    options: {
      scales: {
        x: timeAxis(view),
        y: msAxis(
          "final to signed",
          view.signing.map((d) => d.latencyMs),
        ),
      },
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: timeTitle, label: (item) => milliseconds(item.parsed.y ?? 0) } } },
    },
  };
}

export function throughput(view: PerformanceView): ChartConfiguration<"bar"> | null {
  if (view.throughput.every((b) => b.seen === 0 && b.delivered === 0)) return null;
  const span = view.to - view.from;
  return {
    type: "bar",
    data: {
      labels: view.throughput.map((b) => timeTick(b.at, span, view.bucketMs)),
      datasets: [
        { label: "seen", data: view.throughput.map((b) => b.seen), backgroundColor: colour(0) },
        { label: "delivered", data: view.throughput.map((b) => b.delivered), backgroundColor: colour(1) },
      ],
    },
    options: {
      scales: { x: { ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: `messages per ${durationWords(view.bucketMs / 1000)}` } } },
    },
  };
}

export function backlog(view: PerformanceView, routeName: (route: string) => string): ChartConfiguration<"line"> | null {
  if (view.backlog.every((r) => r.points.length === 0)) return null;
  return {
    type: "line",
    data: {
      datasets: view.backlog.map((r, i) => ({
        label: routeName(r.route),
        data: r.points.map((p) => ({ x: p.at, y: p.count })),
        borderColor: colour(i),
        backgroundColor: colour(i),
        pointRadius: 0,
        stepped: true,
      })),
    },
    options: {
      scales: { x: timeAxis(view), y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "not delivered" } } },
      plugins: { tooltip: { callbacks: { title: timeTitle } } },
    },
  };
}

export function gasSpent(view: PerformanceView): ChartConfiguration<"line"> | null {
  if (view.summary.gasTransactions === 0) return null;
  let total = 0n;
  const cumulative = view.gas.map((g) => {
    total += parseWei(g.costWei);
    return { x: g.at + view.bucketMs, y: weiToEther(total) };
  });
  return {
    type: "line",
    data: {
      datasets: [
        { label: "cumulative cost (ETH)", data: cumulative, borderColor: colour(2), backgroundColor: colour(2), stepped: true, pointRadius: 0, yAxisID: "y" },
        {
          label: "gas used per interval",
          data: view.gas.filter((g) => g.transactions > 0).map((g) => ({ x: g.at, y: Number(g.gasUsed) })),
          borderColor: colour(5),
          backgroundColor: colour(5),
          showLine: false,
          pointRadius: 3,
          yAxisID: "y1",
        },
      ],
    },
    options: {
      scales: {
        x: timeAxis(view),
        y: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "ETH" } },
        y1: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "gas used" } },
      },
      plugins: { tooltip: { callbacks: { title: timeTitle } } },
    },
  };
}

/** The totals above the charts. */
export function totals(view: PerformanceView): { deliveries: number; median: number | null; p95: number | null; seen: number; gasTxs: number; costEther: number } {
  const t = view.summary;
  return { deliveries: t.deliveries, median: t.p50Ms, p95: t.p95Ms, seen: t.seen, gasTxs: t.gasTransactions, costEther: weiToEther(parseWei(t.costWei)) };
}

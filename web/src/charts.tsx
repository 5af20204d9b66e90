/** Chart.js with only the parts the explorer draws, and a figure that owns one chart (destroyed when it changes or goes). */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, ScatterController, Tooltip);
// Drawn at once: a page (or a screenshot) right after a refresh shows the chart, not an animation's first frame.
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = "#3b4252";

export const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#db2777", "#65a30d"];

export const colour = (index: number) => COLOURS[index % COLOURS.length] ?? "#2563eb";

/** A titled chart; `config` null means the series is empty (the figure stays, with words instead of a chart). */
export function ChartFigure<T extends ChartType>({ title, config, note }: { title: string; config: ChartConfiguration<T> | null; note?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (config === null || canvas.current === null) return;
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {config === null ? (
        <p class="empty chart-empty">No data in this window</p>
      ) : (
        <div class="chart-box">
          <canvas ref={canvas} role="img" aria-label={title} />
        </div>
      )}
      {note !== undefined && <p class="muted small chart-note">{note}</p>}
    </figure>
  );
}

/** The explorer page: header, navigation, the configuration every page reads, and the page the hash names. */
import { render } from "preact";
import { useEffect, useErrorBoundary } from "preact/hooks";
import { api } from "./api.ts";
import { ConfigContext } from "./config.ts";
import { usePoll } from "./poll.ts";
import { useRoute, type Route } from "./router.ts";
import { MessagePage } from "./pages/message.tsx";
import { MessagesPage } from "./pages/messages.tsx";
import { NetworkPage } from "./pages/network.tsx";
import { PerformancePage } from "./pages/performance.tsx";
import { TransactionPage } from "./pages/transaction.tsx";

const NAV = [
  { page: "messages", label: "Messages", href: "#/messages" },
  { page: "network", label: "Network", href: "#/network" },
  { page: "performance", label: "Performance", href: "#/performance" },
] as const;

function section(route: Route): string | null {
  if (route.page === "message" || route.page === "tx") return "messages";
  return route.page === "not-found" ? null : route.page;
}

function title(route: Route): string {
  switch (route.page) {
    case "messages":
      return "Messages";
    case "message":
      return `Message ${route.id.slice(0, 10)}…`;
    case "tx":
      return `Transaction ${route.hash.slice(0, 10)}…`;
    case "network":
      return "Network";
    case "performance":
      return "Performance";
    case "not-found":
      return "Not found";
  }
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "messages":
      return <MessagesPage query={route.query} />;
    case "message":
      return <MessagePage key={route.id} id={route.id} />;
    case "tx":
      return <TransactionPage key={route.hash} hash={route.hash} />;
    case "network":
      return <NetworkPage />;
    case "performance":
      return <PerformancePage windowMs={route.windowMs} />;
    case "not-found":
      return (
        <div class="page">
          <h1>Not found</h1>
          <p>
            There is no page at <code>#{route.path}</code>. Go to the <a href="#/messages">messages</a>.
          </p>
        </div>
      );
  }
}

/** A page that throws shows what went wrong in words, not a blank page; another page (or reload) starts over. */
function Boundary({ route }: { route: Route }) {
  const [error, reset] = useErrorBoundary();
  if (error !== undefined && error !== null) {
    const message: string = error instanceof Error ? error.message : String(error);
    return (
      <div class="page">
        <div class="error-box" role="alert">
          <strong>This page could not be shown</strong>
          <p>{message}</p>
          <button type="button" onClick={reset}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  return <Page route={route} />;
}

function App() {
  const route = useRoute();
  // The configuration names chains and their explorers; read once (again every 10 s until it answers).
  const config = usePoll("config", (signal) => api.config(signal), { intervalMs: 10_000, keepGoing: () => false });
  const current = section(route);
  useEffect(() => {
    document.title = `${title(route)} · mpc-relay explorer`;
  }, [route]);
  return (
    <ConfigContext.Provider value={config.data}>
      <header class="top">
        <a class="brand" href="#/messages">
          mpc-relay explorer
        </a>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <a key={item.page} href={item.href} aria-current={current === item.page ? "page" : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {config.error !== null && config.data === null && (
          <p class="stale" role="status">
            Could not read the explorer's configuration ({config.error.message}); chains are shown by id.
          </p>
        )}
        <Boundary key={`${route.page}:${route.page === "message" ? route.id : route.page === "tx" ? route.hash : ""}`} route={route} />
      </main>
    </ConfigContext.Provider>
  );
}

const root = document.getElementById("app");
if (root === null) throw new Error("the page has no #app element");
if (window.location.hash === "") history.replaceState(history.state, "", "#/messages");
render(<App />, root);

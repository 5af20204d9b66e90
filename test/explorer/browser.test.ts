/**
 * The web explorer in a real browser: Debian's Chromium, driven by playwright-core, against a devnet
 * (chains, five nodes with staking, the relayer and `mpc-relay explorer` as processes). It checks what
 * a person sees: the message list and its search, a message that fails (out of gas) with the reason
 * and what to do, the same message delivered once retried, a revert reason carrying markup shown as
 * text, the nodes and committee, and drawn plots. Screenshots go to test-results/explorer/ (ignored by git).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { toHex, type Address, type Hex } from "viem";
import { MpcRelayClient } from "@mpc-relay/sdk";
import type { Devnet, DevnetChain } from "../../relayer/devnet/devnet.ts";
import { deployProbeReceiver, ProbeMode, sendMessages, setProbeMode, waitForAll } from "../../relayer/devnet/traffic.ts";
import { projectRoot } from "../../relayer/shared/project.ts";
import { destroyTestDevnet, eventually, startTestDevnet } from "../e2e/helpers.ts";

const SHOTS = join(projectRoot, "test-results", "explorer");

/** Debian's Chromium (./dev test installs it), or CHROMIUM_PATH: never a downloaded browser. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH !== undefined) return process.env.CHROMIUM_PATH;
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // not this name
    }
  }
  throw new Error("the explorer's browser test needs Chromium: `./dev test` installs Debian's chromium as root; else apt-get install chromium, or set CHROMIUM_PATH");
}

let devnet: Devnet;
let a: DevnetChain;
let b: DevnetChain;
let probe: Address;
let browser: Browser;
let page: Page;
const browserErrors: string[] = [];

async function open(route: string): Promise<void> {
  await page.goto(`${devnet.explorerUrl!}#${route}`);
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Sends one message a -> b through the SDK, as a dapp would. */
async function send(payload: Hex, gasLimit = 100_000n): Promise<Hex> {
  const client = new MpcRelayClient({ source: { publicClient: a.publicClient, walletClient: a.userWallet as never, gateway: a.deployment.contracts.SourceGateway } });
  return (await client.send({ dstChainId: b.chainId, receiver: probe, payload, gasLimit })).messageId;
}

async function relayerState(id: Hex, state: string, timeoutMs = 60_000): Promise<void> {
  await eventually(async () => assert.equal((await devnet.relayerStatus(id))?.state, state), timeoutMs, 250);
}

const timeline = () => page.locator('ol[aria-label="Timeline"] > li');

describe("web explorer in Chromium", { timeout: 600_000 }, () => {
  before(async () => {
    const executablePath = chromiumPath();
    assert.ok(existsSync(executablePath), `Chromium at ${executablePath}`);
    await mkdir(SHOTS, { recursive: true });
    devnet = await startTestDevnet({ explorer: true, blockTimeMs: 300, automine: true, confirmations: 2, logLevel: "warn" });
    [a, b] = devnet.chains as [DevnetChain, DevnetChain];
    probe = await deployProbeReceiver(b);
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (error) => browserErrors.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      // Chromium logs every 4xx answer the page asks for on purpose; a 5xx or any script error still counts.
      if (message.type() === "error" && !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) browserErrors.push(`console: ${message.text()}`);
    });
    // The page may only talk to its own origin.
    await page.route("**/*", (route) => (route.request().url().startsWith(devnet.explorerUrl!) ? route.continue() : route.abort()));
  });
  after(async () => {
    await browser?.close();
    await destroyTestDevnet(devnet);
  });

  it("lists messages in pages, finds one by its id, filters by status and route", async () => {
    // One more than a page (25 rows).
    const sent = await sendMessages(a, b, probe, 26);
    await waitForAll(
      b,
      sent.map((m) => m.messageId),
      60_000,
    );
    await Promise.all(sent.map((m) => relayerState(m.messageId, "delivered")));
    await open("/messages");
    await eventually(async () => assert.equal(await page.locator("table tbody tr").count(), 25, "a full first page"));
    await page.getByText("Page 1 of 2 (26 messages)").waitFor();
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText("Page 2 of 2 (26 messages)").waitFor();
    assert.equal(await page.locator("table tbody tr").count(), 1);
    await page.getByRole("button", { name: "Previous" }).click();
    await page.getByText("Page 1 of 2 (26 messages)").waitFor();
    const wanted = sent[1]!.messageId;
    await page.getByLabel("Search").fill(wanted.slice(0, 14));
    await eventually(async () => {
      const rows = page.locator("table tbody tr");
      assert.equal(await rows.count(), 1);
      // The row shows the id shortened (0x1234…abcd), its start and end.
      const row = (await rows.first().innerText()).toLowerCase();
      assert.ok(row.includes(wanted.slice(0, 6)) && row.includes(wanted.slice(-4)), row);
    });
    await page.getByLabel("Search").fill("");
    await page.getByLabel("Status").selectOption("delivered");
    await eventually(async () => {
      const texts = await page.locator("table tbody tr").allInnerTexts();
      assert.ok(texts.length === 25 && texts.every((t) => /delivered/i.test(t)), texts.join("\n"));
    });
    const routeOptions = await page.getByLabel("Route").locator("option").allInnerTexts();
    assert.ok(
      routeOptions.some((o) => o.includes(`${a.name} → ${b.name}`)),
      routeOptions.join(", "),
    );
    await shot("messages");
  });

  it("a message that runs out of gas: its timeline, the reason and what to do; then retried and delivered", async () => {
    await setProbeMode(b, probe, ProbeMode.BurnGas);
    const id = await send("0x01");
    await relayerState(id, "failed");
    await open(`/message/${id}`);
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 20_000 });
    assert.match(await alert.innerText(), /Why it has not run/);
    assert.match(await alert.innerText(), /the receiver reverted/);
    const steps = await timeline().allInnerTexts();
    for (const step of ["Sent", "Final", "Attested", "Failed"])
      assert.ok(
        steps.some((s) => s.includes(step)),
        `timeline has ${step}: ${steps.join(" | ")}`,
      );
    assert.match(
      steps.find((s) => s.includes("Attested"))!,
      /parties \d+, \d+, \d+/,
      "the signing parties are named",
    );
    const body = await page.locator("body").innerText();
    assert.match(body, new RegExp(`mpc-relay add-gas ${id}`), "the add-gas command is offered");
    assert.match(body, new RegExp(`mpc-relay retry ${id}`), "the retry command is offered");
    await shot("message-failed");

    await setProbeMode(b, probe, ProbeMode.Accept);
    await relayerState(id, "delivered", 90_000);
    await eventually(async () => assert.ok((await timeline().allInnerTexts()).some((s) => s.includes("Delivered"))), 20_000, 500);
    assert.equal(await page.getByRole("alert").count(), 0, "no failure once delivered");
    await shot("message-delivered");
  });

  it("a revert reason with markup is shown as text and never runs", async () => {
    const markup = `<img src=x onerror="window.__explorerPwned=1"><script>window.__explorerPwned=2</script>`;
    await setProbeMode(b, probe, ProbeMode.RevertWithText);
    const id = await send(toHex(markup));
    await relayerState(id, "failed");
    await setProbeMode(b, probe, ProbeMode.Accept);
    await open(`/message/${id}`);
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 20_000 });
    assert.ok((await alert.innerText()).includes(markup), `the reason is shown as written: ${await alert.innerText()}`);
    assert.equal(await alert.locator("img, script").count(), 0, "no element was made from the reason");
    assert.equal(await page.evaluate(() => (globalThis as { __explorerPwned?: number }).__explorerPwned), undefined);
  });

  it("the network: nodes with the relay key, gateways with the relay address, the committee", async () => {
    await open("/network");
    const nodes = page.locator('table[aria-label="Nodes"] tbody tr');
    await eventually(async () => assert.equal(await nodes.count(), devnet.nodes.length));
    for (const row of await nodes.allInnerTexts()) assert.match(row, /READY/, row);
    const gateways = await page.locator('[aria-label="Gateways"]').innerText();
    assert.ok(gateways.toLowerCase().includes(devnet.relayAddress!.toLowerCase().slice(0, 6)), gateways);
    const committee = await page.locator('[aria-label="Committee"]').innerText();
    for (const node of devnet.nodes) assert.ok(committee.includes(String(node.index)), committee);
    await shot("network");
  });

  it("performance: the plots are drawn", async () => {
    await open("/performance");
    const canvas = page.locator('canvas[aria-label="Delivery latency over time"]');
    await canvas.waitFor({ timeout: 20_000 });
    const painted = await eventually(async () => {
      const count = await canvas.evaluate((element) => {
        // Runs in the page: the canvas, typed by hand (this project's TypeScript has no DOM library).
        const c = element as unknown as { width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
        const data = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
        return n;
      });
      assert.ok(count > 500, `painted pixels: ${count}`);
      return count;
    });
    assert.ok(painted > 500);
    assert.ok((await page.locator("canvas").count()) >= 4, "every series has its chart");
    await shot("performance");
    assert.deepEqual(browserErrors, [], "the browser saw no errors");
  });
});

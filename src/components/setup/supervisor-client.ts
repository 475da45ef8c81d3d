/**
 * The supervisor's control socket as the setup component uses it: process
 * status, log tails, and the request to switch to the configured server.
 */
import { request } from 'node:http';

export interface ProcessView {
  name: string;
  components: string[];
  pid?: number;
  state: string;
  uptime_ms: number;
  restarts: number;
  memory?: { rss_kb: number; pss_kb: number };
}

export interface StatusView {
  version: string;
  configured: boolean;
  server_name?: string;
  supervisor: { pid: number; uptime_ms: number; memory?: { rss_kb: number; pss_kb: number } };
  /** The unprivileged user the processes run as, when they do. */
  run_as?: string;
  processes: ProcessView[];
  reload?: { state: 'reloading' | 'done' | 'failed'; at: number; error?: string };
}

function call<T>(socketPath: string, method: string, path: string): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T });
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('the supervisor did not answer in time')));
    req.on('error', reject);
    req.end();
  });
}

export class SupervisorClient {
  constructor(private readonly socketPath: string) {}

  async status(): Promise<StatusView> {
    return (await call<StatusView>(this.socketPath, 'GET', '/status')).body;
  }

  async logs(process: string, lines = 100): Promise<string[]> {
    const r = await call<{ lines: string[] }>(this.socketPath, 'GET', `/logs?process=${encodeURIComponent(process)}&lines=${lines}`);
    return r.body.lines ?? [];
  }

  /** Asks for the switch; the supervisor answers first, then stops this very process. */
  async reload(): Promise<boolean> {
    return (await call<unknown>(this.socketPath, 'POST', '/reload')).status === 202;
  }
}

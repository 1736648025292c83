// Subscribes to registryEvents with a real third-party client and prints
// the first event whose task has the wanted label, as JSON, then exits.
//   node subscribe.mjs ws|sse URL LABEL
import { createClient as createWS } from 'graphql-ws';
import { createClient as createSSE } from 'graphql-sse';
import WebSocket from 'ws';

const [mode, url, label] = process.argv.slice(2);
const query = 'subscription { registryEvents { generation kind id version task { label stale } } }';

const client = mode === 'ws'
  ? createWS({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 })
  : createSSE({ url, retryAttempts: 0 });

const timer = setTimeout(() => { console.error('timed out'); process.exit(2); }, 20000);
const stop = client.subscribe({ query }, {
  next: (result) => {
    const ev = result.data && result.data.registryEvents;
    if (result.errors) { console.error(JSON.stringify(result.errors)); process.exit(1); }
    if (ev && ev.task && ev.task.label === label) {
      console.log(JSON.stringify(ev));
      clearTimeout(timer);
      stop();
      client.dispose();
      process.exit(0);
    }
  },
  error: (err) => { console.error(String(err && err.message || JSON.stringify(err))); process.exit(1); },
  complete: () => {},
});

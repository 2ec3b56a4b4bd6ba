// The entry: small on purpose. It finds the server and starts the first state load, then loads the
// UI (app.ts and everything under it) as a separate chunk, so the request and the server's work
// for it run while that chunk is fetched and parsed.
import './app.css';
import { boot } from './lib/boot';

const started = boot();
const { start } = await import('./app');
await start(started);

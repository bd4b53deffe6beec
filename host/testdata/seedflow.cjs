// The seed's frontend flow, as the React app runs it: laravel-echo + pusher-js,
// authorising private-user.{id} through the host's /broadcasting/auth with a Bearer
// token, listening for .message.sent. Prints one JSON line per event received and
// "READY" once both subscriptions succeeded.
//   env: WS_PORT, API_URL, APP_KEY, TOKEN_A, USER_A, TOKEN_B, USER_B, NODE_PATH
const Pusher = require('pusher-js');
const path = require('path');
const { pathToFileURL } = require('url');

async function main() {
  const { default: Echo } = await import(pathToFileURL(path.join(process.env.NODE_PATH, 'laravel-echo', 'dist', 'echo.js')).href);
  const env = process.env;
  const connect = (token) => new Echo({
    broadcaster: 'pusher', key: env.APP_KEY, cluster: 'mt1', wsHost: '127.0.0.1', wsPort: Number(env.WS_PORT),
    forceTLS: false, enabledTransports: ['ws'], disableStats: true, Pusher,
    authEndpoint: env.API_URL + '/broadcasting/auth', auth: { headers: { Authorization: 'Bearer ' + token } },
  });
  const a = connect(env.TOKEN_A), b = connect(env.TOKEN_B);
  let ready = 0;
  const listen = (echo, who, channel) => echo.private(channel)
    .subscribed(() => { if (++ready === 2) console.log('READY'); })
    .error((e) => console.log(JSON.stringify({ who, channel, error: e.status || String(e) })))
    .listen('.message.sent', (data) => console.log(JSON.stringify({ who, channel, data })));
  listen(a, 'a', 'user.' + env.USER_A);
  listen(b, 'b', 'user.' + env.USER_B);
  // A user may not listen on someone else's channel.
  a.private('user.' + env.USER_B).error((e) => console.log(JSON.stringify({ who: 'a', channel: 'user.' + env.USER_B, error: e.status })));
  setTimeout(() => process.exit(0), 20000);
}
main().catch((e) => { console.log('FAIL ' + (e && e.stack || e)); process.exit(1); });

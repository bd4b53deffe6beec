// Conformance run with the real clients: pusher-js, laravel-echo and the Node
// `pusher` server SDK, against a SharpJob realtime server started by
// node_test.go. Prints "CHECK <name>" per passed check and "ALL OK" at the
// end; exits 1 on the first failure. Every wait is bounded.
'use strict';
const Pusher = require('pusher-js');
const PusherServer = require('pusher');
const path = require('path');
const { pathToFileURL } = require('url');
// laravel-echo's CommonJS build is mis-packaged (type: module): import the ESM build.
const loadEcho = () => import(pathToFileURL(path.join(process.env.NODE_PATH, 'laravel-echo', 'dist', 'echo.js')).href).then((m) => m.default);

const env = process.env;
const port = Number(env.WS_PORT);
// A second node (over Redis) for client b, d and Echo when WS_PORT_B is set.
const portB = Number(env.WS_PORT_B || env.WS_PORT);
const authURL = env.AUTH_URL;
const encKey = env.ENC_KEY;
const server = new PusherServer({
  appId: env.APP_ID, key: env.APP_KEY, secret: env.APP_SECRET,
  host: '127.0.0.1', port: String(port), useTLS: false, encryptionMasterKeyBase64: encKey,
});

let checks = 0;
function check(name, cond, detail) {
  if (!cond) { console.log('FAIL ' + name + ' ' + JSON.stringify(detail === undefined ? null : detail)); process.exit(1); }
  checks++; console.log('CHECK ' + name);
}
function within(ms, label, fn) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout: ' + label)), ms);
    fn((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function client(user, wsPort = port) {
  const headers = { Authorization: 'Bearer user-' + user };
  return new Pusher(env.APP_KEY, {
    wsHost: '127.0.0.1', wsPort, forceTLS: false, enabledTransports: ['ws'], disableStats: true, cluster: 'mt1',
    channelAuthorization: { endpoint: authURL + '/broadcasting/auth', transport: 'ajax', headers },
    userAuthentication: { endpoint: authURL + '/broadcasting/user-auth', transport: 'ajax', headers },
  });
}
function connected(p) {
  return within(5000, 'connect', (ok) => {
    if (p.connection.state === 'connected') return ok();
    p.connection.bind('connected', () => ok());
  });
}
function subscribed(p, name) {
  return within(5000, 'subscribe ' + name, (ok, fail) => {
    const ch = p.subscribe(name);
    ch.bind('pusher:subscription_succeeded', (d) => ok({ ch, d }));
    ch.bind('pusher:subscription_error', (e) => fail(new Error('subscription_error ' + name + ' ' + JSON.stringify(e))));
  });
}
function next(ch, event, ms = 5000) {
  return within(ms, 'event ' + event, (ok) => ch.bind(event, (d, meta) => ok({ d, meta })));
}

async function main() {
  const a = client(1), b = client(2, portB);
  await connected(a); await connected(b);
  check('connected with socket ids', /^\d+\.\d+$/.test(a.connection.socket_id), a.connection.socket_id);

  // public
  const news = (await subscribed(a, 'news')).ch;
  let got = next(news, 'story');
  await server.trigger('news', 'story', { id: 1 });
  check('public event via Node SDK', (await got).d.id === 1);

  // exclusion
  const newsB = (await subscribed(b, 'news')).ch;
  let gotB = next(newsB, 'excl');
  let gotA = false; news.bind('excl', () => { gotA = true; });
  await server.trigger('news', 'excl', { x: 1 }, { socket_id: a.connection.socket_id });
  await gotB; await sleep(200);
  check('socket_id exclusion', !gotA);

  // private via the host-style auth endpoint
  const priv = (await subscribed(a, 'private-user.1')).ch;
  got = next(priv, 'message.sent');
  await server.trigger('private-user.1', 'message.sent', { content: 'hi' });
  check('private channel', (await got).d.content === 'hi');
  const denied = await within(5000, 'denied', (ok) => {
    const ch = a.subscribe('private-user.2');
    ch.bind('pusher:subscription_error', (e) => ok(e));
    ch.bind('pusher:subscription_succeeded', () => ok(null));
  });
  check('auth endpoint refusal surfaces as subscription_error', denied && denied.status === 403, denied);

  // presence
  const roomA = (await subscribed(a, 'presence-room')).ch;
  check('presence me', roomA.members.me && roomA.members.me.id === '1', roomA.members.me);
  const added = next(roomA, 'pusher:member_added');
  const { ch: roomB } = await subscribed(b, 'presence-room');
  const m = (await added).d;
  check('member_added with info', m.id === '2' && m.info.name === 'User 2', m);
  check('members count', roomB.members.count === 2, roomB.members.count);

  // client events (whisper), user_id on presence
  got = next(roomA, 'client-typing');
  roomB.trigger('client-typing', { typing: true });
  const ce = await got;
  check('client event relayed with user_id', ce.d.typing === true && ce.meta && ce.meta.user_id === '2', ce);

  // encrypted
  const box = (await subscribed(a, 'private-encrypted-box')).ch;
  got = next(box, 'sealed');
  await server.trigger('private-encrypted-box', 'sealed', { secret: 's3' });
  check('encrypted channel decrypts end to end', (await got).d.secret === 's3');

  // cache channels
  await server.trigger('cache-price', 'tick', { v: 7 });
  const cacheCh = a.subscribe('cache-price');
  const replay = await next(cacheCh, 'tick');
  check('cache channel replays last event', replay.d.v === 7, replay.d);
  const missCh = a.subscribe('cache-empty');
  await next(missCh, 'pusher:cache_miss');
  check('cache miss', true);

  // HTTP API queries through the Node SDK
  let res = await server.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } });
  let body = await res.json();
  check('GET /channels user_count', body.channels['presence-room'].user_count === 2, body);
  res = await server.get({ path: '/channels/news', params: { info: 'subscription_count' } });
  body = await res.json();
  check('GET /channels/news', body.occupied === true && body.subscription_count === 2, body);
  res = await server.get({ path: '/channels/presence-room/users' });
  body = await res.json();
  check('GET users', body.users.map((u) => u.id).sort().join(',') === '1,2', body);

  // batch
  const b1 = next(news, 'batch1');
  await server.triggerBatch([{ channel: 'news', name: 'batch1', data: { n: 1 } }, { channel: 'private-user.1', name: 'batch2', data: { n: 2 } }]);
  check('batch events', (await b1).d.n === 1);

  // member_removed
  const removed = next(roomA, 'pusher:member_removed');
  b.disconnect();
  check('member_removed on disconnect', (await removed).d.id === '2');

  // user sign-in and #server-to-user
  a.signin();
  await within(5000, 'signin', (ok, fail) => a.user.signinDonePromise.then(ok, fail));
  check('signin user_data', a.user.user_data && a.user.user_data.id === '1', a.user.user_data);
  await sleep(300); // pusher-js subscribes to #server-to-user-1 after sign-in
  got = within(5000, 'user event', (ok) => a.user.bind('direct', (d) => ok(d)));
  await server.sendToUser('1', 'direct', { hello: 'me' });
  check('sendToUser after signin', (await got).hello === 'me');

  // terminate connections
  const c = client(3);
  await connected(c);
  const online = within(5000, 'watchlist online', (ok) => a.user.watchlist.bind('online', (e) => ok(e)));
  c.signin();
  const ev = await online;
  check('watchlist online event', ev.user_ids.includes('3'), ev);
  await sleep(300);
  const closed = within(5000, 'terminate', (ok) => c.connection.bind('state_change', (s) => { if (s.current !== 'connected') ok(s.current); }));
  await server.terminateUserConnections('3');
  check('terminateUserConnections', ['disconnected', 'failed', 'unavailable', 'connecting'].includes(await closed));
  c.disconnect();

  // laravel-echo
  const Echo = await loadEcho();
  const echo = new Echo({
    broadcaster: 'pusher', key: env.APP_KEY, wsHost: '127.0.0.1', wsPort: portB, forceTLS: false,
    enabledTransports: ['ws'], disableStats: true, cluster: 'mt1', Pusher,
    authEndpoint: authURL + '/broadcasting/auth', bearerToken: 'user-5',
  });
  const echoMsg = within(5000, 'echo private', (ok) => {
    echo.private('user.5').subscribed(async () => {
      await server.trigger('private-user.5', 'message.sent', { id: 9, content: 'from echo test' });
    }).listen('.message.sent', (e) => ok(e));
  });
  check('echo private listen', (await echoMsg).content === 'from echo test');
  const echoErr = within(5000, 'echo error', (ok) => { echo.private('user.6').error((e) => ok(e)); });
  check('echo private refused', (await echoErr).status === 403);
  const here = within(5000, 'echo here', (ok) => { echo.join('chat.1').here((users) => ok(users)); });
  const users = await here;
  check('echo presence here', users.length === 1 && users[0].name === 'User 5', users);
  const whisper = within(5000, 'whisper', (ok) => { echo.join('chat.1').listenForWhisper('typing', (e) => ok(e)); });
  const d = client(2, portB);
  const { ch: chatD } = await subscribed(d, 'presence-chat.1');
  chatD.trigger('client-typing', { who: 'd' });
  check('echo listenForWhisper', (await whisper).who === 'd');

  echo.disconnect(); a.disconnect(); d.disconnect();
  console.log('ALL OK ' + checks);
  process.exit(0);
}
main().catch((e) => { console.log('FAIL ' + (e && e.stack || e)); process.exit(1); });

// Helpers for scripts/kafka-cluster.sh that bash cannot do alone, with no dependency beyond
// Node itself (the script must work before `npm ci`):
//   free-ports N                      print N free loopback TCP ports, one per line
//   wait-ready ADDRS N PIDS TIMEOUT_S wait until every broker in ADDRS answers a Metadata
//                                     request listing N live brokers; fail early when a pid dies
//
// Metadata v4 (non-flexible, supported by Kafka 2.x to 4.x and the dev broker):
//   request header v1: api_key int16 | api_version int16 | correlation_id int32 | client_id string
//   request body:      topics array(int32 count; 0 = none) | allow_auto_topic_creation int8
//   response:          correlation_id int32 | throttle_time_ms int32
//                      | brokers array [node_id int32 | host string | port int32 | rack string?]
//                      | cluster_id string? | controller_id int32 | topics ...
// A broker lists only brokers that are registered and unfenced, so N of them means the
// cluster serves clients. Then FindCoordinator v1 until it names a coordinator: the first one
// creates __consumer_offsets, which takes seconds; a test's first consumer group should not.
//   request body:  key string | key_type int8 (0 = group)
//   response:      correlation_id int32 | throttle_time_ms int32 | error_code int16
//                  | error_message string? | node_id int32 | host string | port int32
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

const [command, ...args] = process.argv.slice(2);

async function freePorts(count) {
  // Hold all listeners open together so the ports are distinct.
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function request(apiKey, apiVersion, payload) {
  const clientId = Buffer.from('kafka-cluster-probe');
  const header = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  let o = header.writeInt16BE(apiKey, 0);
  o = header.writeInt16BE(apiVersion, o);
  o = header.writeInt32BE(1, o);
  o = header.writeInt16BE(clientId.length, o);
  clientId.copy(header, o);
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(header.length + payload.length);
  return Buffer.concat([frame, header, payload]);
}

// No topics (brokers and controller only), no auto-creation.
const metadataRequest = () => request(3, 4, Buffer.from([0, 0, 0, 0, 0]));

function findCoordinatorRequest() {
  const group = Buffer.from('kafka-cluster-probe');
  const payload = Buffer.alloc(2 + group.length + 1);
  payload.writeInt16BE(group.length, 0);
  group.copy(payload, 2);
  return request(10, 1, payload);
}

const coordinatorError = (response) => response.readInt16BE(8);

function liveBrokerCount(response) {
  let o = 8; // correlation id, throttle time
  const count = response.readInt32BE(o);
  o += 4;
  for (let i = 0; i < count; i++) {
    o += 4; // node id
    o += 2 + response.readInt16BE(o); // host
    o += 4; // port
    const rack = response.readInt16BE(o);
    o += 2 + Math.max(rack, 0);
  }
  return count;
}

function probe(address, timeoutMs, req = metadataRequest(), parse = liveBrokerCount) {
  const cut = address.lastIndexOf(':');
  const host = address.slice(0, cut);
  const port = Number(address.slice(cut + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let buffered = Buffer.alloc(0);
    const done = (value) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(-1), timeoutMs);
    socket.once('error', () => done(-1));
    socket.once('connect', () => socket.write(req));
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 4) return;
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) return;
      try {
        done(parse(buffered.subarray(4, 4 + size)));
      } catch {
        done(-1);
      }
    });
  });
}

// A node that died during `up` is a zombie child of the script until it exits: not alive.
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

async function waitReady(addrs, expected, pids, timeoutS) {
  const addresses = addrs.split(',');
  const pidList = pids.split(',').filter((p) => p !== '').map(Number);
  const deadline = Date.now() + timeoutS * 1000;
  let lastReport = 0;
  let waitingFor = 'brokers to serve metadata';
  for (;;) {
    const dead = pidList.filter((pid) => !alive(pid));
    if (dead.length > 0) {
      console.error(`kafka-cluster: broker process ${dead.join(', ')} exited during startup`);
      return 3;
    }
    const counts = await Promise.all(addresses.map((a) => probe(a, 2000)));
    if (counts.every((c) => c >= expected)) {
      // -1: no answer; otherwise Kafka's error code (0: a coordinator is there).
      const coordinator = await probe(addresses[0], 5000, findCoordinatorRequest(), coordinatorError);
      if (coordinator === 0) return 0;
      waitingFor = `the group coordinator (__consumer_offsets; last answer ${coordinator})`;
    }
    if (Date.now() > deadline) {
      console.error(`kafka-cluster: not ready after ${timeoutS} s (live brokers seen per node: ${counts.join(', ')}; want ${expected})`);
      return 2;
    }
    if (Date.now() - lastReport > 5000) {
      lastReport = Date.now();
      const ready = counts.filter((c) => c >= expected).length;
      console.error(`kafka-cluster: waiting for ${waitingFor} (${ready}/${addresses.length} brokers ready)`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

if (command === 'free-ports') {
  for (const port of await freePorts(Number(args[0]))) console.log(port);
} else if (command === 'wait-ready') {
  process.exitCode = await waitReady(args[0], Number(args[1]), args[2] ?? '', Number(args[3] ?? 120));
} else {
  console.error('usage: cluster-probe.mjs free-ports N | wait-ready ADDRS N PIDS TIMEOUT_S');
  process.exitCode = 64;
}

// A district system written in Node.js, using amqplib and nothing of redprop's code: it follows only
// docs/wire-protocol.md and docs/asyncapi.yaml (read here for routing keys, exchanges, delivery modes
// and the reply's required fields).
//
// Environment: REDPROP_AMQP_URI (the district's virtual host), REDPROP_ASYNCAPI (path of asyncapi.yaml),
// REDPROP_RESIDENT / REDPROP_BUILDING / REDPROP_CATEGORY (a resident, a building and a category that
// exist in that district).
// Prints one JSON line per step and a final {"ok": true, ...} line; exits 1 on the first failure.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import amqp from 'amqplib';
import YAML from 'yaml';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};
const uri = env('REDPROP_AMQP_URI');
const spec = YAML.parse(await readFile(env('REDPROP_ASYNCAPI'), 'utf8'));
const resident = env('REDPROP_RESIDENT', 'P2');
const building = env('REDPROP_BUILDING', 'B1');
const category = env('REDPROP_CATEGORY', 'leak');
const TIMEOUT_MS = 10_000; // docs/wire-protocol.md: wait at most 10 s

const log = (step, detail = {}) => console.log(JSON.stringify({ step, ...detail }));
function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// -- what the AsyncAPI document says ---------------------------------------------------------------
function deref(node) {
  if (node && node.$ref) {
    return node.$ref.slice(2).split('/').reduce((at, key) => at[key.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
  }
  return node;
}
function rpcOperation(service, operation) {
  const op = spec.operations[`rpc.${service}.${operation}`];
  check(op, `the document has no operation rpc.${service}.${operation}`);
  const channel = deref(op.channel);
  const binding = channel.bindings.amqp;
  const reply = deref(deref(op.reply.channel).messages[`${service}.${operation}.reply`]);
  const success = reply.payload.oneOf.find((branch) => branch.title === 'success');
  return {
    routingKey: channel.address,
    exchange: binding.exchange,
    deliveryMode: op.bindings.amqp.deliveryMode,
    mandatory: op.bindings.amqp.mandatory,
    replyTo: op.reply.address.location,
    resultSchema: deref(success.properties.result),
  };
}
function eventChannel(eventType) {
  const op = spec.operations[`event.${eventType}`];
  check(op, `the document has no event ${eventType}`);
  const channel = deref(op.channel);
  return { routingKey: channel.address, exchange: channel.bindings.amqp.exchange };
}
const replyQueue = deref(spec.channels['rpc.reply']).bindings.amqp.queue;

const submitOp = rpcOperation('ticketing', 'submit');
const catalogueOp = rpcOperation('ticketing', 'catalogue');
const getOp = rpcOperation('ticketing', 'get');
const created = eventChannel('ticketing.created');
check(submitOp.deliveryMode === 2 && catalogueOp.deliveryMode === 1, 'commands persistent, queries transient');
check(submitOp.replyTo === '$message.header#/reply_to', 'the reply goes to the reply_to address');
log('read asyncapi', { submit: submitOp.routingKey, exchange: submitOp.exchange.name, event: created.exchange.name });

// -- the client ------------------------------------------------------------------------------------
const connection = await amqp.connect(uri);
const channel = await connection.createChannel();
const confirmChannel = await connection.createConfirmChannel();
const pending = new Map(); // correlation_id -> {resolve, reject, timer}

function settle(correlationId, outcome, value) {
  const call = pending.get(correlationId);
  if (!call) return;
  pending.delete(correlationId);
  clearTimeout(call.timer);
  call[outcome](value);
}
for (const ch of [channel, confirmChannel]) {
  // mandatory + nobody bound: the broker hands the message back at once (basic.return).
  ch.on('return', (msg) => settle(msg.properties.correlationId, 'reject', new Error(`returned: nobody serves ${msg.fields.routingKey}`)));
}

await channel.assertExchange(submitOp.exchange.name, submitOp.exchange.type, { durable: submitOp.exchange.durable });
const replyKey = randomUUID();
const { queue: replyQueueName } = await channel.assertQueue(`rpc.reply-${replyKey}`, {
  exclusive: replyQueue.exclusive, autoDelete: replyQueue.autoDelete, durable: replyQueue.durable,
});
await channel.bindQueue(replyQueueName, submitOp.exchange.name, replyKey);
await channel.consume(replyQueueName, (msg) => {
  if (msg === null) return; // the broker cancelled the consumer (queue deleted)
  settle(msg.properties.correlationId, 'resolve', JSON.parse(msg.content.toString('utf8')));
}, { noAck: true });

// Events: our own durable queue, bound to the service's events exchange, acknowledged by hand.
const events = [];
const eventWaiters = [];
await channel.assertExchange(created.exchange.name, created.exchange.type, { durable: created.exchange.durable });
const eventQueue = `node-client.${replyKey}`;
await channel.assertQueue(eventQueue, { durable: true });
await channel.bindQueue(eventQueue, created.exchange.name, created.routingKey);
await channel.consume(eventQueue, (msg) => {
  if (msg === null) return;
  const body = JSON.parse(msg.content.toString('utf8'));
  events.push({ body, headers: msg.properties.headers, messageId: msg.properties.messageId, routingKey: msg.fields.routingKey });
  channel.ack(msg);
  eventWaiters.splice(0).forEach((wake) => wake());
}, { noAck: false });

async function call(op, kwargs) {
  const correlationId = randomUUID();
  const body = Buffer.from(JSON.stringify({ args: [], kwargs }), 'utf8');
  const options = {
    correlationId, replyTo: replyKey, contentType: 'application/json', contentEncoding: 'utf-8',
    deliveryMode: op.deliveryMode, mandatory: op.mandatory,
  };
  const reply = new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(correlationId, 'reject', new Error(`${op.routingKey}: no reply in time`)), TIMEOUT_MS);
    pending.set(correlationId, { resolve, reject, timer });
  });
  if (op.deliveryMode === 2) {
    // A command: persistent, on the confirm channel; it counts as sent once the broker confirms.
    confirmChannel.publish(op.exchange.name, op.routingKey, body, options);
    await confirmChannel.waitForConfirms();
  } else {
    channel.publish(op.exchange.name, op.routingKey, body, options);
  }
  return reply;
}

async function waitForEvent(predicate) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const found = events.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('the event did not arrive in time');
    await new Promise((resolve) => { eventWaiters.push(resolve); setTimeout(resolve, 250); });
  }
}

let exitCode = 0;
try {
  // 1. A query: the categories this district accepts.
  const catalogue = await call(catalogueOp, {});
  check(catalogue.error === null, `catalogue failed: ${JSON.stringify(catalogue.error)}`);
  check(catalogue.result.categories.some((c) => c.code === category), `category ${category} is in the catalogue`);
  log('catalogue', { categories: catalogue.result.categories.length });

  // 2. A command: submit a ticket, with our own idempotency key.
  const requestId = `node-${randomUUID()}`;
  const request = {
    request_id: requestId, resident_id: resident, category, building_id: building,
    description: '3号楼楼道灯坏了，晚上看不见 (submitted from Node.js)',
  };
  const submitted = await call(submitOp, request);
  check(submitted.error === null, `submit failed: ${JSON.stringify(submitted.error)}`);
  for (const field of submitOp.resultSchema.required ?? []) {
    check(field in submitted.result, `the reply has the required field ${field}`);
  }
  const ticket = submitted.result.ticket;
  const ticketSchema = deref(submitOp.resultSchema.properties.ticket);
  for (const field of ticketSchema.required ?? []) check(field in ticket, `the ticket has the required field ${field}`);
  check(ticket.resident_id === resident && ticket.category === category, 'the ticket is ours');
  log('submit', { ticket_id: ticket.id, status: ticket.status });

  // 3. The created event, on our own queue.
  const event = await waitForEvent((e) => e.body.ticket?.ticket_id === ticket.id);
  check(event.routingKey === 'ticketing.created', 'routing key is the event type');
  check(event.headers['x-redprop-event-type'] === 'ticketing.created', 'event type header');
  check(event.headers['x-redprop-event-id'] === event.body.event_id && event.messageId === event.body.event_id, 'event id in header, body and message_id');
  check(event.headers['x-redprop-district'] === ticket.district && event.body.district === ticket.district, 'district');
  log('event', { event_id: event.body.event_id, type: event.routingKey });

  // 4. The same command again (as after a lost reply): the first reply, no second ticket.
  const retried = await call(submitOp, request);
  check(retried.error === null && retried.result.ticket.id === ticket.id, 'a retry with the same request_id returns the first ticket');
  log('retry', { ticket_id: retried.result.ticket.id });

  // 5. The same request_id for a different request: a conflict.
  const reused = await call(submitOp, { ...request, description: 'something else entirely' });
  check(reused.result === null && reused.error.code === 'conflict', `reused request_id -> conflict, got ${JSON.stringify(reused.error)}`);
  log('conflict', { code: reused.error.code });

  // 6. Bad input: a typed validation error naming each bad field.
  const bad = await call(submitOp, {
    request_id: `node-${randomUUID()}`, resident_id: resident, category: 'Not A Code!', building_id: building, description: 'x',
  });
  check(bad.result === null && bad.error.code === 'validation_failed', `bad input -> validation_failed, got ${JSON.stringify(bad)}`);
  const fields = bad.error.details.fields.map((f) => f.field).sort();
  check(JSON.stringify(fields) === JSON.stringify(['category', 'description']), `bad fields named: ${fields}`);
  check(bad.error.details.fields.every((f) => typeof f.message === 'string' && typeof f.type === 'string'), 'each field error has message and type');
  log('validation', { fields });

  // 7. A query for something that is not there: not_found.
  const missing = await call(getOp, { ticket_id: 'NO-SUCH-TICKET', viewer: { kind: 'resident', id: resident } });
  check(missing.error?.code === 'not_found', `unknown ticket -> not_found, got ${JSON.stringify(missing.error)}`);
  log('not_found', { code: missing.error.code });

  // 8. An operation nobody serves comes back at once (mandatory), not after a timeout.
  const started = Date.now();
  const unserved = await call({ ...catalogueOp, routingKey: 'nosuchservice.catalogue' }, {}).then(() => null, (err) => err);
  check(unserved && /returned/.test(unserved.message) && Date.now() - started < 5000, 'unserved -> returned quickly');
  log('unserved', { ms: Date.now() - started });

  console.log(JSON.stringify({ ok: true, ticket_id: ticket.id, event_id: event.body.event_id, request_id: requestId }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err?.stack ?? err) }));
  exitCode = 1;
} finally {
  await channel.deleteQueue(eventQueue).catch(() => {});
  await connection.close().catch(() => {});
}
process.exit(exitCode);

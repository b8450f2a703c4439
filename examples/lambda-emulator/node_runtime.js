// The Node.js runtime of emulator.py: calls `{name}.js` / `{name}.mjs` Lambda handlers as AWS
// Lambda's Node.js runtime calls them. emulator.py starts one of these (Node standard library only)
// and keeps it running; every JavaScript function runs in it, like a warm Lambda container.
//
// Protocol, one JSON object per line:
//   stdin:  {"id": N, "file": "/abs/path.js", "event": {...}, "context": {...}, "timeoutMs": N}
//   stdout: {"id": N, "result": ...}  or  {"id": N, "error": {"errorMessage", "errorType", "stackTrace"}}
// The emulator serves connections concurrently, so invocations overlap and answers may come back
// in any order: the id is what pairs them.
'use strict';

const { AsyncLocalStorage } = require('async_hooks');
const { Console } = require('console');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { pathToFileURL } = require('url');
const util = require('util');

// stdout carries the protocol and nothing else. What handlers print goes to stderr (where the
// emulator logs, as Lambda sends it to CloudWatch Logs), whether through console or stdout directly.
const send = process.stdout.write.bind(process.stdout);
const logger = new Console({ stdout: process.stderr, stderr: process.stderr });
for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir']) {
  console[method] = logger[method].bind(logger);
}
process.stdout.write = process.stderr.write.bind(process.stderr);

// The invocation whose code is running, so an error thrown in a handler's timer or a promise it
// dropped fails that invocation (as on Lambda) instead of the runner every function shares.
const current = new AsyncLocalStorage();

// file -> {mtimeMs, module}: a module is loaded once and reused while its file is unchanged,
// like a warm Lambda container (emulator.py does the same for Python handlers).
const modules = new Map();

async function load(file) {
  const { mtimeMs } = fs.statSync(file);
  const cached = modules.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.module;
  let module;
  if (file.endsWith('.mjs')) {
    module = await importFresh(file, mtimeMs);
  } else {
    // require() caches by path: drop the old copy so the edited file's top level runs again.
    delete require.cache[file];
    try {
      module = require(file);
    } catch (err) {
      // A .js file under a package.json with "type": "module" is an ES module, as on Lambda.
      if (err.code !== 'ERR_REQUIRE_ESM') throw err;
      module = await importFresh(file, mtimeMs);
    }
  }
  modules.set(file, { mtimeMs, module });
  return module;
}

// import() caches a module by URL for the life of the process, so each version of the file gets
// its own URL (the old versions stay in memory, which an emulator can afford).
function importFresh(file, mtimeMs) {
  return import(`${pathToFileURL(file).href}?mtime=${mtimeMs}`);
}

// The error payload of a failed invocation. An Error gives its message and name (its class);
// anything else, like the "Unauthorized" string of AWS's authorizer samples, is the message.
function errorPayload(err) {
  if (util.types.isNativeError(err) || err instanceof Error) {
    // The handler's frames, not the runner's own (emulator.py drops its frame the same way).
    const stack = String(err.stack || '').split('\n').filter((line) => line && !line.includes(__filename));
    return { errorMessage: String(err.message), errorType: String(err.name), stackTrace: stack };
  }
  return { errorMessage: String(err), errorType: 'Error', stackTrace: [] };
}

function invoke({ id, file, event, context: fields, timeoutMs }) {
  let finished = false;
  // The first answer wins (promise, callback, context.succeed/fail/done or the timeout); any
  // later one is ignored, as on Lambda.
  const reply = (answer) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    let line;
    try {
      line = JSON.stringify({ id, ...answer });
    } catch (err) {
      // A result JSON cannot carry (a cycle, a BigInt).
      line = JSON.stringify({
        id,
        error: { errorMessage: `Unable to stringify response body: ${err.message}`, errorType: 'Runtime.MarshalError', stackTrace: [] },
      });
    }
    send(line + '\n');
  };
  // undefined (an async handler that returns nothing) answers null, as on Lambda.
  const succeed = (result) => reply({ result: result === undefined ? null : result });
  // context.fail() with no error still fails; AWS's runtime reports it as "handled".
  const fail = (err) => reply({ error: errorPayload(err === undefined || err === null ? 'handled' : err) });
  // callback(err, result) and context.done(err, result): an error unless err is null/undefined.
  const done = (err, result) => (err === undefined || err === null ? succeed(result) : fail(err));

  const deadline = Date.now() + timeoutMs;
  // The runner is shared and its event loop never empties, so a handler that never answers would
  // wait forever: at the function's timeout it gets Lambda's timeout error.
  const timer = setTimeout(() => {
    reply({
      error: {
        errorMessage: `RequestId: ${fields.awsRequestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
        errorType: 'Sandbox.Timedout',
        stackTrace: [],
      },
    });
  }, timeoutMs);

  const context = {
    ...fields, // functionName, functionVersion, invokedFunctionArn, memoryLimitInMB, awsRequestId, logGroupName, logStreamName
    callbackWaitsForEmptyEventLoop: true, // settable, as on Lambda; the emulator answers at once either way
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    succeed,
    fail,
    done,
  };

  current.run({ fail }, async () => {
    try {
      const handler = (await load(file)).handler;
      if (typeof handler !== 'function') {
        const name = path.basename(file).replace(/\.m?js$/, '');
        reply({ error: { errorMessage: `${name}.handler is undefined or not exported`, errorType: 'Runtime.HandlerNotFound', stackTrace: [] } });
        return;
      }
      const returned = handler(event, context, done);
      // An async handler answers with its promise. Any other return value is ignored, as on
      // Lambda: a callback-style handler answers through the callback or context.
      if (returned && typeof returned.then === 'function') returned.then(succeed, fail);
    } catch (err) {
      fail(err); // the handler threw, or its module failed to load
    }
  });
}

process.on('uncaughtException', (err) => {
  console.error('Uncaught exception:', err);
  current.getStore()?.fail(err);
});
process.on('unhandledRejection', (reason) => {
  console.error('Unhandled promise rejection:', reason);
  const err = new Error(String(reason));
  err.name = 'Runtime.UnhandledPromiseRejection'; // AWS's errorType for it
  err.stack = util.types.isNativeError(reason) ? reason.stack : '';
  current.getStore()?.fail(err);
});

readline
  .createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on('line', (line) => {
    let request;
    try {
      request = JSON.parse(line);
    } catch (err) {
      console.error(`node_runtime: ignoring a request that is not JSON: ${err.message}`);
      return;
    }
    invoke(request);
  })
  // The emulator has gone (its end of the pipe closed): so do we, whatever timers handlers left.
  .on('close', () => process.exit(0));

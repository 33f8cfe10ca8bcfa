// Preloaded into the Node child (node --require guard.cjs): refuse every connection
// that is not to loopback, before any DNS lookup or packet. credpick's socket guard
// covers Python only; this is its twin for the JavaScript SDK.
"use strict";
const net = require("net");

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1|\[::1\]|::ffff:127\.\d+\.\d+\.\d+)$/i;
const connect = net.Socket.prototype.connect;

function hostOf(args) {
  let first = args[0];
  if (Array.isArray(first)) first = first[0]; // node's internal normalized arguments
  if (first !== null && typeof first === "object") {
    if (first.path) return null; // a unix socket
    return first.host === undefined ? "localhost" : String(first.host);
  }
  if (typeof first === "number" || /^\d+$/.test(String(first))) {
    return typeof args[1] === "string" ? args[1] : "localhost";
  }
  return null; // a unix socket path
}

net.Socket.prototype.connect = function guardedConnect(...args) {
  const host = hostOf(args);
  if (host !== null && !LOOPBACK.test(host)) {
    process.stderr.write(`credpick guard: refused a connection to ${host}\n`);
    throw new Error(`credpick guard: refused a connection to ${host} (loopback only)`);
  }
  return connect.apply(this, args);
};

// A task module: every exported function can be called on a runner by name.
const os = require('node:os');
const { context } = require('@flame-node/core');

/** Says where it ran. */
exports.whoami = async function whoami(caller) {
  const { runnerId } = context();
  return { greeting: `hello ${caller}`, runnerId, pid: process.pid, host: os.hostname() };
};

/** Burns some CPU, the kind of work one pushes out of a web process. */
exports.primes = function primes(limit) {
  const sieve = new Uint8Array(limit + 1);
  let count = 0;
  for (let i = 2; i <= limit; i++) {
    if (sieve[i]) continue;
    count++;
    for (let j = i * i; j <= limit; j += i) sieve[j] = 1;
  }
  return { limit, count, pid: process.pid };
};

import * as os from 'node:os';
import { ConfigurationError, type BackendContext } from '@flame-node/core';
import type { ParentIdentity } from './labels';

/**
 * Runners dial the parent by `parentHost`. Left at its default, this container's host name,
 * that only resolves for containers on a user-defined network the parent is on too: a parent
 * container elsewhere would see every boot time out, so it is a ConfigurationError now. An
 * explicit `parentHost`, or a parent that is not a container, may route another way: a
 * warning then.
 */
export function checkReachable(
  parentHost: string,
  network: string,
  own: ParentIdentity['container'],
  logger: BackendContext['logger'],
): void {
  const byHostName = parentHost === os.hostname();
  const fix =
    `start the parent with --network ${network} (or docker network connect ${network} ` +
    '<parent>), or set parentHost to an address the runners can reach';

  if (own?.networks && !own.networks.includes(network)) {
    const where =
      `runners join the network ${network}, but this parent's container is on ` +
      `${own.networks.join(', ') || 'no network'}`;
    if (byHostName) {
      throw new ConfigurationError(
        `${where}: runners could not reach it by its host name ${parentHost}; ${fix}`,
      );
    }
    logger.warn({ network, parentHost }, `${where}: runners must reach it at ${parentHost}`);
  }
  if (network === 'bridge') {
    const said =
      'the default bridge network has no DNS for container names: runners cannot reach ' +
      'the parent by name; use a user-defined network (docker network create)';
    if (own?.networks && byHostName) throw new ConfigurationError(said);
    logger.warn({ network }, said);
  }
}

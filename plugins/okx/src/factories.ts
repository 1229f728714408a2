import { type OkxOptions, resolveOkxConfig, restClientOptionsFromConfig, wsClientOptionsFromConfig } from './config.js';
import { OkxRestClient } from './http/client.js';
import { OkxWsClient } from './websocket/client.js';

export interface OkxClients {
  rest: OkxRestClient;
  ws: OkxWsClient;
}

/** Both clients from one validated config (what the plugin registers with the host). */
export function createOkxClients(options: OkxOptions = {}): OkxClients {
  const config = resolveOkxConfig(options);
  return { rest: new OkxRestClient(restClientOptionsFromConfig(config)), ws: new OkxWsClient(wsClientOptionsFromConfig(config)) };
}

// The guard's `kokex` subcommands, one file each.
export { orderCommand } from './command-order.js';
export { ordersCommand } from './command-orders.js';
export { riskCommand } from './command-risk.js';

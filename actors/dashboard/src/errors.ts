import { KokexError } from '@kokex/core';

/** Error codes of the dashboard's HTTP API (listed in docs/dashboard.md). */
export const DashboardErrorCode = {
  /** A control action without the right token (`KOKEX_DASHBOARD_TOKEN`): refused, and recorded. */
  Unauthorized: 'DASHBOARD_UNAUTHORIZED',
  /** A malformed request: an unknown verb, a bad plan or actor name, a body that is not JSON. */
  BadRequest: 'DASHBOARD_BAD_REQUEST',
  /** The plan or actor named is not on the bus. */
  NotFound: 'DASHBOARD_NOT_FOUND',
  /** The bus request had no answer in time (no agent for the plan, the actor gone). */
  Unavailable: 'DASHBOARD_UNAVAILABLE',
  /** A backtest's report.json that is not JSON or lacks a field the page shows (HTTP 422; it is listed with this error). */
  BadReport: 'DASHBOARD_BAD_REPORT',
  /** The web app is not built and could not be built (vite missing): `npm run build -w @kokex/actor-dashboard`. */
  WebMissing: 'DASHBOARD_WEB_MISSING',
} as const;
export type DashboardErrorCode = (typeof DashboardErrorCode)[keyof typeof DashboardErrorCode];

export class DashboardUnauthorizedError extends KokexError {
  constructor(action: string) {
    super(DashboardErrorCode.Unauthorized, `${action} refused: the control token is missing or wrong`, { data: { action } });
  }
}

export class DashboardWebMissingError extends KokexError {
  constructor(dir: string, cause: unknown) {
    super(
      DashboardErrorCode.WebMissing,
      `the dashboard's web app is not built in ${dir} and building it failed (${(cause as Error)?.message ?? cause}); run \`npm run build -w @kokex/actor-dashboard\``,
      { cause, data: { dir } },
    );
  }
}

/**
 * Messages the benchmarks publish, from core's public testing entry (a script never imports a
 * package's test folder: docs/architecture.md, "Packages and the import rules").
 */
export { sampleForecast as forecast } from '@kokex/core/testing';

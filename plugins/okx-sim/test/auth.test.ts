import { describe, expect, it } from 'vitest';
import { SimAuth } from '../src/auth.js';

// The vectors of okx-v5.md §4 and §6.2, checked against the simulator's own verifier.
const SECRET = '22582BD0CFF14C41EDBF1AB98506286D';
const REST_TS = '2020-12-08T09:08:57.715Z';
const key = { apiKey: 'k', secretKey: SECRET, passphrase: 'p', demo: true };

describe('simulator signature verification (reference test vectors)', () => {
  const restAuth = new SimAuth([key], () => Date.parse(REST_TS));
  const headers = (sign: string) => ({
    'ok-access-key': 'k',
    'ok-access-passphrase': 'p',
    'ok-access-timestamp': REST_TS,
    'ok-access-sign': sign,
    'x-simulated-trading': '1',
  });

  it('accepts the GET vector, query string included in the prehash', () => {
    const result = restAuth.verifyRest(
      headers('HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY='),
      'GET',
      '/api/v5/account/balance?ccy=BTC',
      '',
    );
    expect(result.ok).toBe(true);
    expect(
      restAuth.verifyRest(headers('HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY='), 'GET', '/api/v5/account/balance', ''),
    ).toMatchObject({
      ok: false,
      code: '50113',
    });
  });

  it('accepts the POST vector, body included in the prehash', () => {
    const body = '{"instId":"BTC-USDT","tdMode":"cash","clOrdId":"b15","side":"buy","ordType":"limit","px":"2.15","sz":"2"}';
    expect(restAuth.verifyRest(headers('dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ='), 'POST', '/api/v5/trade/order', body).ok).toBe(true);
    expect(restAuth.verifyRest(headers('dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ='), 'POST', '/api/v5/trade/order', `${body} `).ok).toBe(
      false,
    );
  });

  it('accepts the WS login vector (seconds timestamp) and rejects it 31 s later as expired', () => {
    const arg = { apiKey: 'k', passphrase: 'p', timestamp: '1538054050', sign: '+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=' };
    expect(new SimAuth([key], () => 1538054050_000).verifyWsLogin(arg, true).ok).toBe(true);
    expect(new SimAuth([key], () => 1538054081_000).verifyWsLogin(arg, true)).toMatchObject({ ok: false, code: '60006' });
  });
});

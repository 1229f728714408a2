import { describe, expect, it } from 'vitest';
import { restPrehash, restTimestamp, signRestRequest, signWsLogin, wsLoginTimestamp } from '../src/index.js';

// Test vectors from okx-v5.md §4 (WS login) and §6.2 (REST).
const SECRET = '22582BD0CFF14C41EDBF1AB98506286D';
const TS = '2020-12-08T09:08:57.715Z';

describe('OKX signatures', () => {
  it('signs a GET with the query string in the request path', () => {
    const sign = signRestRequest(SECRET, { timestamp: TS, method: 'GET', requestPath: '/api/v5/account/balance?ccy=BTC' });
    expect(sign).toBe('HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=');
  });

  it('signs a POST over the exact JSON body', () => {
    const body = JSON.stringify({ instId: 'BTC-USDT', tdMode: 'cash', clOrdId: 'b15', side: 'buy', ordType: 'limit', px: '2.15', sz: '2' });
    expect(signRestRequest(SECRET, { timestamp: TS, method: 'post', requestPath: '/api/v5/trade/order', body })).toBe(
      'dI6rrL9rXW/HdaPKJ/6LC1OgvH4/PYju6R3CqixMTNQ=',
    );
  });

  it('signs the WS login over seconds + GET + /users/self/verify', () => {
    expect(signWsLogin(SECRET, '1538054050')).toBe('+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M=');
  });

  it('builds the prehash as timestamp + METHOD + path + body', () => {
    expect(restPrehash({ timestamp: 't', method: 'get', requestPath: '/p?a=1' })).toBe('tGET/p?a=1');
  });

  it('formats REST timestamps as ISO-8601 with ms and WS timestamps as whole seconds', () => {
    expect(restTimestamp(Date.parse(TS))).toBe(TS);
    expect(wsLoginTimestamp(1538054050_999)).toBe('1538054050');
  });
});

import { describe, expect, it } from 'vitest';
import { compareOffsets, offsetAfter } from '../../../src/pipeline/offset-order.js';

describe('offset order', () => {
  it('orders offsets as the integers they are, beyond 2^53 too', () => {
    const offsets = ['10', '9', '0', '100', '9007199254740993', '9007199254740992', '11', '1'];
    const byBigInt = [...offsets].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    expect([...offsets].sort(compareOffsets)).toEqual(byBigInt);
    expect(compareOffsets('42', '42')).toBe(0);
  });

  it('gives the offset after, exactly beyond 2^53', () => {
    expect(offsetAfter('0')).toBe('1');
    expect(offsetAfter('99')).toBe('100');
    expect(offsetAfter('9007199254740992')).toBe('9007199254740993');
  });
});

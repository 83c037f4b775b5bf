import { describe, expect, it } from 'vitest';
import { humanize, variantName } from './words';

describe('words', () => {
  it("puts Shopify's enum values in words", () => {
    expect(humanize('partially_refunded')).toBe('Partially refunded');
    expect(humanize('PAID')).toBe('Paid');
    expect(humanize(null)).toBe('—');
  });

  it('names the only variant after its product', () => {
    expect(variantName('Default Title', 'Lamp')).toBe('Lamp');
    expect(variantName('Red / L', 'Lamp')).toBe('Red / L');
  });
});

import { describe, expect, it } from 'vitest';
import { datedOnReceiptNote, unchangedSummary } from './events';

const none = { duplicate: 0, stale: 0, deleted: 0, redacted: 0, ignored: 0, store_inactive: 0 };

describe('unchangedSummary', () => {
  it('says nothing when every applied event changed data', () => {
    expect(unchangedSummary(none, 'en-US')).toBeNull();
  });

  it('totals the reasons and names each that occurred, in a fixed order', () => {
    expect(unchangedSummary({ ...none, ignored: 1200, stale: 2 }, 'en-US')).toBe(
      '1,202 changed nothing: 2 older than what is stored, 1,200 of topics Xeno does not use',
    );
  });
});

describe('datedOnReceiptNote', () => {
  it('says nothing when every event carried its dates', () => {
    expect(datedOnReceiptNote(0, 'en-US')).toBeNull();
  });

  it('counts the events dated when received', () => {
    expect(datedOnReceiptNote(1, 'en-US')).toBe(
      "1 dated when received: its payload had no date (as Shopify's test notifications)",
    );
    expect(datedOnReceiptNote(1500, 'en-US')).toBe(
      "1,500 dated when received: their payloads had no date (as Shopify's test notifications)",
    );
  });
});

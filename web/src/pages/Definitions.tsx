// How each figure is computed, in a sentence each: Shopify's own definitions (its Sales
// report and ShopifyQL's `sales` schema), which Xeno follows and checks itself against.

const DEFINITIONS: [string, string][] = [
  ['Orders', 'Orders placed in the range, counted on the day they were processed, cancelled ones included. Test orders are left out.'],
  ['Gross sales', 'Line price × quantity, before discounts, without tax or shipping. Gift cards are not sales (they are a liability until redeemed), so they are left out.'],
  ['Discounts', "Each line's discounts, including its share of order-level discount codes."],
  ['Returns', "The value of items refunded, net of their discounts, on the day of the refund. A cancelled order is also a return, on the day it was cancelled, of whatever its refunds did not give back: a cancelled order adds up to nothing."],
  ['Net sales', 'Gross sales − discounts − returns.'],
  ['Shipping', 'Shipping charged, less shipping refunded (on the day of the refund) and the unrefunded shipping of cancelled orders.'],
  ['Taxes', 'Taxes charged, less taxes refunded and the unrefunded taxes of cancelled orders.'],
  ['Duties', 'Import duties charged on cross-border orders, less duties refunded (on the day of the refund) and the unrefunded duties of cancelled orders.'],
  ['Additional fees', 'Fees charged on top of the order, such as a retail delivery fee; a cancelled order gives its fees back on the day it was cancelled.'],
  ['Tips', 'Tips are part of what the customer paid, not of sales: they are in no figure here, as in Shopify Analytics.'],
  ['Total sales', 'Net sales + shipping + taxes + duties + additional fees.'],
  ['Average order value', '(Gross sales − discounts) ÷ orders.'],
  ['Days', "Every figure is bucketed by the day in the store's own time zone, whatever yours is; each event (sale, refund, cancellation) counts on its own day."],
  ['Currencies', 'Stores in different currencies are shown side by side, never added together.'],
  ['Chance still a customer', "From the BG/NBD model (Fader, Hardie and Lee), fitted on the store's own purchase histories: each purchase day after the first, the time between them and since. It assumes a customer buys at a steady personal rate until they quietly stop for good, with some chance after each purchase; it does not know about seasons, campaigns or subscriptions, so read it as a ranking, not a promise."],
  ['Expected orders and value', "Orders the model expects in the next 30, 90 or 365 days, times what the Gamma-Gamma model expects each to be worth (a customer's own average, pulled towards the store's); a year's value is discounted month by month (1 % a month unless the service is configured otherwise; the fit says which rate it used). Refitted after every backfill and daily; stores with fewer than 20 repeat customers get no predictions."],
  ['Checked against Shopify', "After every sync, Xeno reads Shopify Analytics' own daily figures for the store and compares them day by day (Stores page); a difference is shown with both values."],
];

export function Definitions() {
  return (
    <section>
      <h1>How figures are computed</h1>
      <p>Xeno follows Shopify's own sales definitions, so its figures equal Shopify Analytics for the same store and days.</p>
      <dl className="definitions">
        {DEFINITIONS.map(([term, meaning]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{meaning}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

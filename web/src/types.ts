/** The API's shapes, as the dashboard reads them (money is a decimal string). */

export interface Store {
  id: string;
  shop_domain: string;
  name: string | null;
  status: string;
  status_reason: string | null;
  currency: string | null;
  iana_timezone: string | null;
  connection_kind: string;
  last_webhook_at: string | null;
  counts?: Record<string, number>;
  webhooks?: { last_day: number; retrying: number; dead: number };
  [key: string]: unknown;
}

export interface CurrencySales {
  currency: string;
  orders: number;
  units_sold: number;
  gross_sales: string;
  discounts: string;
  returns: string;
  net_sales: string;
  shipping: string;
  taxes: string;
  total_sales: string;
  average_order_value: string;
}

export interface Totals {
  orders: number;
  units_sold: number;
  customers: number;
  /** First-time buyers in the range (Shopify's "new customers"). */
  new_customers: number;
  /** Customer accounts created in the range, whether or not they ordered. */
  accounts_created: number;
  buyers: number;
  returning_buyers: number;
  repeat_purchase_rate: number;
  sales: CurrencySales[];
}

export interface CurrencyChange {
  currency: string;
  orders: number | null;
  gross_sales: number | null;
  net_sales: number | null;
  total_sales: number | null;
  average_order_value: number | null;
}

export interface Dashboard {
  from: string;
  to: string;
  totals: Totals;
  series: { start: string; orders: number; sales: { currency: string; orders: number; gross_sales: string; net_sales: string; total_sales: string }[] }[];
  top_customers: { store_id: string; customer_id: string; name: string | null; email: string | null; currency: string; orders: number; spent: string; last_order_at: string }[];
  previous: null | {
    from: string;
    to: string;
    totals: Totals;
    change: { orders: number | null; customers: number | null; new_customers: number | null; buyers: number | null; repeat_purchase_rate: number | null; sales: CurrencyChange[] };
  };
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Customer {
  store_id: string;
  id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  state: string | null;
  tags: string[];
  created_at: string;
  redacted: boolean;
  orders: number;
  spent: string;
  currency: string | null;
  last_order_at: string | null;
}

export interface Order {
  store_id: string;
  id: string;
  name: string | null;
  email: string | null;
  customer_id: string | null;
  processed_at: string;
  cancelled_at: string | null;
  currency: string;
  total_price: string;
  current_total_price: string;
  financial_status: string | null;
  fulfillment_status: string | null;
  test: boolean;
  units: number;
}

export interface Product {
  store_id: string;
  id: string;
  title: string;
  vendor: string | null;
  product_type: string | null;
  status: string | null;
  variants: number;
  min_price: string | null;
  max_price: string | null;
  updated_at: string;
}

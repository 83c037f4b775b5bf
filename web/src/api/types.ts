/**
 * The API's shapes, generated from the server's OpenAPI document (`schema.d.ts`, made by
 * `npm run api:types`): a server change that breaks a page fails `tsc`. Money is a decimal
 * string; ids from Shopify are strings.
 */
import type { components } from './schema';

type Schemas = components['schemas'];

export type Store = Schemas['StoreOut'];
export type Dashboard = Schemas['Dashboard'];
export type CurrencySales = Schemas['CurrencySales'];
export type TopProducts = Schemas['TopProducts'];
export type Checkouts = Schemas['Checkouts'];
export type Cohorts = Schemas['Cohorts'];
export type Segments = Schemas['Segments'];
export type SegmentCustomers = Schemas['SegmentCustomers'];
export type Customer = Schemas['Customer'];
export type CustomerDetail = Schemas['CustomerDetail'];
export type Order = Schemas['OrderOut'];
export type OrderDetail = Schemas['OrderDetailOut'];
export type Product = Schemas['Product'];
export type ProductDetail = Schemas['ProductDetail'];
export type SyncRun = Schemas['SyncRunOut'];
export type Reconciliation = Schemas['ReconciliationOut'];
export type Mismatch = Schemas['MismatchOut'];
export type WebhookEvent = Schemas['EventOut'];
export type ApiKey = Schemas['ApiKeyOut'];
export type PredictionSummary = Schemas['FitList'];
export type PredictiveSegments = Schemas['PredictiveSegments'];
export type CreatedKey = Schemas['CreatedKey'];
export type UnchangedCounts = Schemas['UnchangedCounts'];
export type EventPage = Schemas['EventPage'];

/** A page of a list: its records and the cursor of the next page, if any. */
export interface Page<T> {
  data: T[];
  next_cursor?: string | null;
}
export type Me = Schemas['MeOut'];
export type Member = Schemas['MemberOut'];
export type Invitation = Schemas['InvitationOut'];
export type CreatedInvitation = Schemas['CreatedInvitation'];
export type AuditPage = Schemas['AuditPage'];
export type SignIns = Schemas['SignIns'];
export type PredictiveMembers = Schemas['PredictiveMembers'];
export type TagSyncs = Schemas['TagSyncs'];

/**
 * Every read the dashboard makes, once: its query key, its URL and its type. Pages call
 * `useQuery(dashboardQuery(params))`; invalidating a key (`keys.stores`) refreshes every
 * page that shows it.
 */
import { queryOptions } from '@tanstack/react-query';
import { ApiProblem, getJson, query } from './client';
import type {
  Checkouts,
  Cohorts,
  CustomerDetail,
  Dashboard,
  EventPage,
  Me,
  OrderDetail,
  Page,
  PredictionSummary,
  ProductDetail,
  Reconciliation,
  Segments,
  Store,
  SyncRun,
  TopProducts,
} from './types';

/** Query-string values; empty ones are left out. */
export type Params = Record<string, string | number | undefined | null>;

export const keys = {
  stores: ['stores'] as const,
  sync: (storeId: string) => ['sync', storeId] as const,
  deadLetters: (storeId: string) => ['dead-letters', storeId] as const,
  reconciliation: (storeId: string) => ['reconciliation', storeId] as const,
};

export const meQuery = () => queryOptions({ queryKey: ['me'], queryFn: () => getJson<Me>('/api/auth/me') });

export const storesQuery = () =>
  queryOptions({ queryKey: keys.stores, queryFn: () => getJson<{ data: Store[] }>('/api/stores') });

export const dashboardQuery = (params: Params) =>
  queryOptions({
    queryKey: ['dashboard', params],
    queryFn: () => getJson<Dashboard>(`/api/metrics/dashboard${query({ compare: 'previous_period', ...params })}`),
  });

export const topProductsQuery = (params: Params) =>
  queryOptions({
    queryKey: ['top-products', params],
    queryFn: () => getJson<TopProducts>(`/api/metrics/products${query(params)}`),
  });

export const checkoutsQuery = (params: Params) =>
  queryOptions({ queryKey: ['checkouts', params], queryFn: () => getJson<Checkouts>(`/api/metrics/checkouts${query(params)}`) });

export const cohortsQuery = (params: Params) =>
  queryOptions({ queryKey: ['cohorts', params], queryFn: () => getJson<Cohorts>(`/api/metrics/cohorts${query(params)}`) });

export const segmentsQuery = (params: Params) =>
  queryOptions({ queryKey: ['segments', params], queryFn: () => getJson<Segments>(`/api/metrics/segments${query(params)}`) });

export const predictionsQuery = (storeId?: string) =>
  queryOptions({
    queryKey: ['predictions', storeId ?? ''],
    queryFn: () => getJson<PredictionSummary>(`/api/predictions/summary${query({ store_id: storeId })}`),
  });

/** A page of a list (`/api/customers`, `/api/orders`, `/api/products`). */
export const listQuery = <T,>(path: string, params: Params) =>
  queryOptions({ queryKey: [path, params], queryFn: () => getJson<Page<T>>(`${path}${query(params)}`) });

export const customerQuery = (storeId: string, customerId: string) =>
  queryOptions({
    queryKey: ['customer', storeId, customerId],
    queryFn: () => getJson<CustomerDetail>(`/api/customers/${storeId}/${customerId}`),
  });

export const orderQuery = (storeId: string, orderId: string) =>
  queryOptions({
    queryKey: ['order', storeId, orderId],
    queryFn: () => getJson<OrderDetail>(`/api/orders/${storeId}/${orderId}`),
  });

export const productQuery = (storeId: string, productId: string) =>
  queryOptions({
    queryKey: ['product', storeId, productId],
    queryFn: () => getJson<ProductDetail>(`/api/products/${storeId}/${productId}`),
  });

/** The store's latest sync, or null before its first. */
export const syncQuery = (storeId: string) =>
  queryOptions({
    queryKey: keys.sync(storeId),
    queryFn: async (): Promise<SyncRun | null> => {
      try {
        return await getJson<SyncRun>(`/api/sync/status${query({ store_id: storeId })}`);
      } catch (error) {
        if (error instanceof ApiProblem && error.status === 404) {
          return null;
        }
        throw error;
      }
    },
  });

export const deadLettersQuery = (storeId: string) =>
  queryOptions({
    queryKey: keys.deadLetters(storeId),
    queryFn: () => getJson<EventPage>(`/api/webhooks/events${query({ store_id: storeId, status: 'dead', limit: 20 })}`),
  });

/** The store's latest check against Shopify Analytics, or null before its first. */
export const reconciliationQuery = (storeId: string) =>
  queryOptions({
    queryKey: keys.reconciliation(storeId),
    queryFn: async () =>
      (await getJson<{ data: Reconciliation[] }>(`/api/reconciliation${query({ store_id: storeId })}`)).data[0] ?? null,
  });

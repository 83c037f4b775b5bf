import { Suspense, lazy, useEffect, useState } from 'react';
import { NavLink, Navigate, Route, Routes, useNavigate } from 'react-router-dom';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { SIGNED_OUT, getToken, postJson, request, setSession as keepSession, type Tokens } from './api/client';
import { meQuery } from './api/queries';
import { Accept, SignIn, SignUp } from './pages/Auth';
import { Loading } from './components';

// Each page is a chunk of its own, loaded when first opened: the sign-in page needs none of
// them, and only the overview needs the charts.
const Overview = lazy(() => import('./pages/Overview').then((m) => ({ default: m.Overview })));
const lists = () => import('./pages/Lists');
const Customers = lazy(() => lists().then((m) => ({ default: m.Customers })));
const CustomerDetail = lazy(() => lists().then((m) => ({ default: m.CustomerDetail })));
const Orders = lazy(() => lists().then((m) => ({ default: m.Orders })));
const OrderDetail = lazy(() => lists().then((m) => ({ default: m.OrderDetail })));
const Products = lazy(() => lists().then((m) => ({ default: m.Products })));
const ProductDetail = lazy(() => lists().then((m) => ({ default: m.ProductDetail })));
const insights = () => import('./pages/Insights');
const Cohorts = lazy(() => insights().then((m) => ({ default: m.Cohorts })));
const Segments = lazy(() => insights().then((m) => ({ default: m.Segments })));
const SegmentMembers = lazy(() => insights().then((m) => ({ default: m.SegmentMembers })));
const PredictiveSegmentMembers = lazy(() => insights().then((m) => ({ default: m.PredictiveSegmentMembers })));
const Checkouts = lazy(() => insights().then((m) => ({ default: m.Checkouts })));
const Stores = lazy(() => import('./pages/Stores').then((m) => ({ default: m.Stores })));
const Keys = lazy(() => import('./pages/Keys').then((m) => ({ default: m.Keys })));
const Team = lazy(() => import('./pages/Team').then((m) => ({ default: m.Team })));
const Account = lazy(() => import('./pages/Account').then((m) => ({ default: m.Account })));
const Definitions = lazy(() => import('./pages/Definitions').then((m) => ({ default: m.Definitions })));

const NAV = [
  ['/', 'Overview'],
  ['/customers', 'Customers'],
  ['/orders', 'Orders'],
  ['/products', 'Products'],
  ['/cohorts', 'Cohorts'],
  ['/segments', 'Segments'],
  ['/checkouts', 'Checkouts'],
  ['/stores', 'Stores'],
  ['/team', 'Team'],
  ['/keys', 'API keys'],
  ['/account', 'Account'],
  ['/definitions', 'Definitions'],
] as const;

export function App() {
  const [token, setSession] = useState(getToken());
  const navigate = useNavigate();
  const queries = useQueryClient();

  useEffect(() => {
    const ended = () => {
      setSession(null);
      queries.clear();
    };
    window.addEventListener(SIGNED_OUT, ended);
    return () => window.removeEventListener(SIGNED_OUT, ended);
  }, [queries]);

  // A sign-in may open another account (an invitation, the switcher): nothing cached for
  // the one before may be shown for it.
  const signedIn = (next: Tokens) => {
    queries.clear();
    keepSession(next);
    setSession(next.token);
    navigate('/');
  };

  if (!token) {
    return (
      <Routes>
        <Route path="/signup" element={<SignUp onSignedIn={signedIn} />} />
        <Route path="/accept" element={<Accept onSignedIn={signedIn} />} />
        <Route path="*" element={<SignIn onSignedIn={signedIn} />} />
      </Routes>
    );
  }

  const signOut = async () => {
    // Ends the session on the server too (its tokens stop at once), then here, whatever
    // the server answered.
    await request('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
    keepSession(null);
    setSession(null);
    queries.clear();
    navigate('/');
  };

  return (
    <div className="shell">
      <header className="top">
        <span className="brand">Xeno</span>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <NavLink key={to} to={to} end={to === '/'}>
              {label}
            </NavLink>
          ))}
        </nav>
        <AccountSwitcher onSwitched={signedIn} />
        <button type="button" className="link" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <main>
        <Suspense fallback={<Loading what="the page" />}>
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/customers" element={<Customers />} />
          <Route path="/customers/:storeId/:customerId" element={<CustomerDetail />} />
          <Route path="/orders" element={<Orders />} />
          <Route path="/orders/:storeId/:orderId" element={<OrderDetail />} />
          <Route path="/products" element={<Products />} />
          <Route path="/products/:storeId/:productId" element={<ProductDetail />} />
          <Route path="/cohorts" element={<Cohorts />} />
          <Route path="/segments" element={<Segments />} />
          <Route path="/segments/:segment" element={<SegmentMembers />} />
          <Route path="/segments/predicted/:segment" element={<PredictiveSegmentMembers />} />
          <Route path="/checkouts" element={<Checkouts />} />
          <Route path="/stores" element={<Stores />} />
          <Route path="/stores/:storeId" element={<Stores />} />
          <Route path="/keys" element={<Keys />} />
          <Route path="/team" element={<Team />} />
          <Route path="/account" element={<Account />} />
          <Route path="/accept" element={<Accept onSignedIn={signedIn} />} />
          <Route path="/definitions" element={<Definitions />} />
          <Route path="/signup" element={<Navigate to="/" replace />} />
          <Route path="*" element={<p className="empty">There is no such page.</p>} />
        </Routes>
        </Suspense>
      </main>
    </div>
  );
}

/** For a person in several accounts: which one is open, and a way to open another. */
function AccountSwitcher({ onSwitched }: { onSwitched: (next: Tokens) => void }) {
  const me = useQuery(meQuery()).data;
  const [failed, setFailed] = useState<string | null>(null);
  if (!me || me.tenants.length < 2) return null;
  const open = async (tenantId: string) => {
    setFailed(null);
    try {
      onSwitched(await postJson<Tokens>('/api/auth/switch', { tenant_id: tenantId }));
    } catch (error) {
      setFailed(error instanceof Error ? error.message : 'The account could not be opened');
    }
  };
  return (
    <>
      <select
        className="switcher"
        aria-label="Account"
        value={me.tenant.id}
        onChange={(event) => void open(event.target.value)}
      >
        {me.tenants.map((tenant) => (
          <option key={tenant.id} value={tenant.id}>
            {tenant.name} ({tenant.role})
          </option>
        ))}
      </select>
      {failed && (
        <span className="error" role="alert">
          {failed}
        </span>
      )}
    </>
  );
}

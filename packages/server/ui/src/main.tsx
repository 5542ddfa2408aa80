import '@xyflow/react/dist/style.css';
import './styles.css';
import { type FormEvent, StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, getToken, type ServerConfig, setToken } from './api';
import { ConfigContext } from './config';
import { GraphView } from './GraphView';
import { Link, type Location, navigate, useLocation } from './router';
import { ThemeContext, ThemeToggle, useThemeState } from './theme';
import {
  ComponentsView,
  HistoryView,
  HomeView,
  PromotionsView,
  RecentView,
  ReviewView,
  RunView,
} from './views';

function TokenControl() {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState(getToken());
  const save = (event: FormEvent) => {
    event.preventDefault();
    setToken(value.trim());
    setOpen(false);
    window.location.reload();
  };
  if (!open) {
    return (
      <button type="button" className="small" onClick={() => setOpen(true)} title="the server's bearer token">
        {getToken() ? 'Token ✓' : 'Token'}
      </button>
    );
  }
  return (
    <form onSubmit={save} className="token-form">
      <input
        type="password"
        aria-label="token"
        placeholder="bearer token"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        autoComplete="off"
      />
      <button type="submit" className="small">
        Save token
      </button>
    </form>
  );
}

function Search({ location }: { location: Location }) {
  const [uri, setUri] = useState(location.params.get('uri') ?? '');
  const [version, setVersion] = useState(location.params.get('version') ?? '');
  useEffect(() => {
    setUri(location.params.get('uri') ?? '');
    setVersion(location.params.get('version') ?? '');
  }, [location]);
  const go = (view: 'trace' | 'impact') => {
    if (!uri.trim()) return;
    const params = new URLSearchParams({ uri: uri.trim() });
    if (version.trim()) params.set('version', version.trim());
    navigate(`/${view}?${params.toString()}`);
  };
  return (
    <form
      className="search"
      onSubmit={(e) => {
        e.preventDefault();
        go('trace');
      }}
    >
      <input
        aria-label="pointer URI"
        placeholder="pointer URI, e.g. s3://bucket/model.pkl"
        value={uri}
        onChange={(e) => setUri(e.target.value)}
      />
      <input
        aria-label="version"
        placeholder="version (optional)"
        value={version}
        onChange={(e) => setVersion(e.target.value)}
        className="version-input"
      />
      <button type="submit">Trace</button>
      <button type="button" onClick={() => go('impact')}>
        Impact
      </button>
    </form>
  );
}

function Page({ location }: { location: Location }) {
  switch (location.path) {
    case '/':
      return <HomeView />;
    case '/trace':
      return <GraphView location={location} direction="trace" />;
    case '/impact':
      return <GraphView location={location} direction="impact" />;
    case '/run':
      return <RunView location={location} />;
    case '/history':
      return <HistoryView location={location} />;
    case '/recent':
      return <RecentView location={location} />;
    case '/components':
      return <ComponentsView location={location} />;
    case '/review':
      return <ReviewView />;
    case '/promotions':
      return <PromotionsView location={location} />;
    default:
      return <p>No page {location.path}.</p>;
  }
}

function App() {
  const location = useLocation();
  const [config, setConfig] = useState<ServerConfig>();
  const theme = useThemeState();
  useEffect(() => {
    api<ServerConfig>('/config').then(setConfig, () => {});
  }, []);
  return (
    <ThemeContext.Provider value={theme}>
      <ConfigContext.Provider value={config}>
        <header className="top">
          <Link to="/" className="brand">
            mltrace
          </Link>
          <nav>
            <Link to="/recent">Recent</Link>
            <Link to="/components">Components</Link>
            <Link to="/history">History</Link>
            <Link to="/review">Review</Link>
            <Link to="/promotions">Promotions</Link>
          </nav>
          <Search location={location} />
          <ThemeToggle />
          <TokenControl />
        </header>
        <main>
          <Page location={location} />
        </main>
      </ConfigContext.Provider>
    </ThemeContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

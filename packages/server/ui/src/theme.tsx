import { createContext, useCallback, useContext, useEffect, useState } from 'react';

/** The user's choice: follow the system (`prefers-color-scheme`), or always light or dark. */
export type ThemeChoice = 'system' | 'light' | 'dark';

const KEY = 'mltrace.theme';

function stored(): ThemeChoice {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

function systemDark(): boolean {
  return window.matchMedia('(prefers-color-scheme: dark)').matches;
}

export interface Theme {
  choice: ThemeChoice;
  resolved: 'light' | 'dark';
  setChoice(choice: ThemeChoice): void;
}

export const ThemeContext = createContext<Theme>({ choice: 'system', resolved: 'light', setChoice() {} });

/** The theme, kept in local storage and on `<html data-theme>`; follows the system while `system`. */
export function useThemeState(): Theme {
  const [choice, setChoiceState] = useState<ThemeChoice>(stored);
  const [dark, setDark] = useState(systemDark);
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => setDark(media.matches);
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, []);
  const resolved = choice === 'system' ? (dark ? 'dark' : 'light') : choice;
  useEffect(() => {
    document.documentElement.dataset.theme = resolved;
  }, [resolved]);
  const setChoice = useCallback((next: ThemeChoice) => {
    if (next === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, next);
    setChoiceState(next);
  }, []);
  return { choice, resolved, setChoice };
}

export function useTheme(): Theme {
  return useContext(ThemeContext);
}

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: 'dark', dark: 'light', light: 'system' };
const LABEL: Record<ThemeChoice, string> = {
  system: 'Theme: system',
  dark: 'Theme: dark',
  light: 'Theme: light',
};

/** The header's toggle: system, then dark, then light. */
export function ThemeToggle() {
  const theme = useTheme();
  return (
    <button
      type="button"
      className="small"
      aria-label={`${LABEL[theme.choice]} (click for ${NEXT[theme.choice]})`}
      title="switch between the system's theme, dark and light"
      onClick={() => theme.setChoice(NEXT[theme.choice])}
    >
      {theme.resolved === 'dark' ? '☾' : '☀'} {theme.choice}
    </button>
  );
}

import { createContext, useContext } from 'react';
import type { ServerConfig } from './api';

export const ConfigContext = createContext<ServerConfig | undefined>(undefined);

/** The server's configuration (Temporal UI URL, whether tokens are needed). */
export function useConfig(): ServerConfig | undefined {
  return useContext(ConfigContext);
}

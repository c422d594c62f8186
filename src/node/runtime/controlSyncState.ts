/** The link's state: `live` (listening and polling), `polling` (no LISTEN), `stale` (no database). */
export type ControlSyncState = 'connecting' | 'live' | 'polling' | 'stale' | 'closed';

/** The control plane could not be reached or used: the message says where and what to do. */
export class ControlPlaneError extends Error {
  constructor(
    message: string,
    readonly code: 'unreachable' | 'held' | 'schema' | 'config' = 'unreachable',
  ) {
    super(message);
    this.name = 'ControlPlaneError';
  }
}

/**
 * `prompt-ci/runtime`: what a production Node service links to serve prompt versions by rollback,
 * pin and rollout, and to record what it served (DESIGN.md section 7). Exports only.
 */
export { createPromptRuntime } from './node/runtime/promptRuntime';
export type { PromptRuntime, PromptRuntimeOptions, VersionAtAnswer } from './node/runtime/promptRuntime';
export type { ControlSyncState } from './node/runtime/controlSyncState';
export type { CreateMessageOptions, MessageResult, MessagesClient } from './node/runtime/messageSpan';
export { PromptRequestError } from './core/runtime/render';
export type { RenderRequest, RenderedPrompt, RuntimeMessagesRequest } from './core/runtime/render';
export { PromptVariableError, TemplateCompileError } from './core/runtime/compiledPrompt';
export type { SelectionReason } from './core/runtime/selection';
export { rolloutBucket } from './core/runtime/selection';
export { BundleError } from './core/runtime/bundle';
export type { PromptBundle, BundleVersion } from './core/runtime/bundle';
export { ControlPlaneError } from './node/controlPlane/controlPlaneError';

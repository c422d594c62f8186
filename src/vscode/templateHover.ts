import * as vscode from 'vscode';
import { callSiteAtPromptName, fieldAt, fieldHoverMarkdown, missingVariables, promptHoverMarkdown, supplyOf } from '../core/editorHelp';
import type { VersionSummary } from '../core/editorHelp';
import type { PromptLookup } from './promptLookup';
import { SOURCE_SELECTOR, TEMPLATE_SELECTOR, corePosition } from './promptLookup';
import { toRange } from './toDiagnostic';

/**
 * Hovers: on a template field, who supplies its variable (call sites as file:line links, those
 * that leave it out, eval coverage); on a call site's prompt name, the prompt's versions and
 * their variables, and what this call leaves out.
 */
export function registerTemplateHover(lookup: PromptLookup): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.languages.registerHoverProvider(TEMPLATE_SELECTOR, {
      provideHover: (document, position) => fieldHover(lookup, document, position),
    }),
    vscode.languages.registerHoverProvider(SOURCE_SELECTOR, {
      provideHover: (document, position) => promptNameHover(lookup, document, position),
    }),
  );
}

async function fieldHover(lookup: PromptLookup, document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
  const template = lookup.templateDocument(document);
  if (!template) return undefined;
  const field = fieldAt(template.parsed.fields, document.offsetAt(position));
  if (!field || field.variable === '' || /^[0-9]/.test(field.variable)) return undefined;
  const { repo, contract } = template;
  const sites = await lookup.callSitesOf(repo, contract.version.name);
  const markdown = fieldHoverMarkdown(field, contract, supplyOf(contract, field.variable, sites), lookup.linkTo(repo));
  const range = new vscode.Range(document.positionAt(field.start), document.positionAt(field.end));
  return new vscode.Hover(new vscode.MarkdownString(markdown), range);
}

async function promptNameHover(lookup: PromptLookup, document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
  const source = await lookup.sourceDocument(document);
  const site = source && callSiteAtPromptName(source.sites, corePosition(position));
  if (!source || !site) return undefined;
  const versions: VersionSummary[] = lookup.versionsOf(source.repo, site.promptName).map((checked) => ({
    version: checked.version.version,
    ...(checked.template ? { templatePath: checked.template.path } : {}),
    variables: checked.template?.parsed.variables ?? [],
    ...(checked.metadata?.model ? { model: checked.metadata.model } : {}),
    malformed: (checked.template?.parsed.errors.length ?? 0) > 0,
  }));
  const missing = missingVariables(site, lookup.contractsOf(source.repo, site.promptName));
  const markdown = promptHoverMarkdown(site, versions, missing, lookup.linkTo(source.repo));
  return new vscode.Hover(new vscode.MarkdownString(markdown), toRange(site.promptNameRange));
}

import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { ReplayInputs } from '../core/replay';
import { ReplayError, parseInputsFile } from '../core/replay';
import type { CandidateSpan } from '../core/span';
import { PROMPT_NAME_ATTRIBUTES, PROMPT_VERSION_ATTRIBUTES, describeSpan, firstPresent, parseSpan } from '../core/span';
import { Disposable } from './disposable';
import { PASTE_SCHEME, PasteFileSystem } from './replayDocuments';
import type { SpanSourceKind, SpanTextVerdict } from './spanSource';
import { classifySpanText, sourceLabel } from './spanSource';

/** Inputs files are a few variables; anything this big is a wrong file. */
const MAX_INPUTS_BYTES = 20 * 1024 * 1024;

/** The span text Replay Trace found, where it found it, and what it holds. */
export interface FoundSpanText {
  source: SpanSourceKind;
  text: string;
  verdict: SpanTextVerdict;
}

/** What the span input tells Replay Trace: a span was pasted into a paste document, or the paste holds none. */
export interface SpanInputEvents {
  onPasted(text: string): void;
  onPastedNothing(why: string): void;
}

/**
 * Where Replay Trace's input comes from: the span text (the selection, else the active JSON or paste
 * document, else the clipboard, else a paste document it opens, which replays as soon as a span
 * lands in it), the span picked when the text holds several, and the inputs file.
 */
export class ReplaySpanInput extends Disposable {
  private readonly pastes = new PasteFileSystem();
  /** Untitled documents opened as paste boxes, and whether each was empty at its last change. */
  private readonly pasteDocuments = new Map<string, boolean>();
  /** The text of the last span looked at, so "Choose Inputs File…" can replay it again. */
  lastText: string | undefined;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly events: SpanInputEvents,
  ) {
    super();
    this._register(vscode.workspace.registerFileSystemProvider(PASTE_SCHEME, this.pastes, { isCaseSensitive: true }));
    this._register(vscode.workspace.onDidChangeTextDocument((e) => this.onPasteDocumentChanged(e.document)));
    this._register(
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.pasteDocuments.delete(d.uri.toString());
        if (d.uri.scheme === PASTE_SCHEME) this.pastes.forget(d.uri);
      }),
    );
  }

  /** Selection, then the active JSON (or paste) document, then the clipboard; else opens a paste document (and says so). */
  async findSpanText(): Promise<FoundSpanText | { awaitingPaste: { uri: string; message: string } }> {
    const looked: string[] = [];
    const consider = (source: SpanSourceKind, text: string, intended: boolean) => {
      const verdict = classifySpanText(text, intended);
      if (verdict.kind === 'not-a-span') {
        looked.push(`${sourceLabel(source)}: ${verdict.why.length > 160 ? `${verdict.why.slice(0, 160)}…` : verdict.why}`);
        return undefined;
      }
      this.lastText = text;
      return { source, text, verdict };
    };
    const editor = vscode.window.activeTextEditor;
    if (editor) {
      const document = editor.document;
      if (!editor.selection.isEmpty) {
        const found = consider('selection', document.getText(editor.selection), false);
        if (found) return found;
      } else if (this.pasteDocuments.has(document.uri.toString())) {
        const found = consider('paste-document', document.getText(), true);
        if (found) return found;
      } else if (isJsonDocument(document)) {
        const found = consider('document', document.getText(), false);
        if (found) return found;
      }
    }
    let clipboard = '';
    try {
      clipboard = await vscode.env.clipboard.readText();
    } catch (error) {
      looked.push(`the clipboard can't be read: ${(error as Error).message}`);
    }
    if (clipboard) {
      const found = consider('clipboard', clipboard, false);
      if (found) return found;
    } else {
      looked.push('the clipboard: it is empty');
    }
    return { awaitingPaste: await this.openPasteDocument(looked) };
  }

  /**
   * An empty JSON document to paste a span into; a span landing there replays at once. It lives in
   * memory ({@link PasteFileSystem}) and is saved there on every change, so closing it never asks
   * where to save a paste nobody wants to keep.
   */
  private async openPasteDocument(looked: string[]): Promise<{ uri: string; message: string }> {
    const document = await vscode.workspace.openTextDocument(this.pastes.create());
    await vscode.languages.setTextDocumentLanguage(document, 'json');
    this.pasteDocuments.set(document.uri.toString(), true);
    await vscode.window.showTextDocument(document, { preview: false });
    const message =
      'Paste a span export (OTLP/JSON, a single OTLP span, Jaeger, Zipkin v2 or an attribute map) into this document: it replays as soon as a span is pasted. ' +
      'Or select a span in any editor, or copy one, and run Replay Trace again.';
    this.log.info(`replay: no span found (${looked.join('; ')}); opened a paste document`);
    void vscode.window.showInformationMessage(message);
    return { uri: document.uri.toString(), message };
  }

  private onPasteDocumentChanged(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const wasEmpty = this.pasteDocuments.get(key);
    if (wasEmpty === undefined) return;
    const text = document.getText();
    this.pasteDocuments.set(key, text.trim() === '');
    if (document.isDirty) void document.save();
    // Replays on the paste itself (empty → a span), not on every later edit: those wait for the command.
    if (!wasEmpty || text.trim() === '') return;
    this.lastText = text;
    const verdict = classifySpanText(text, true);
    // Said in the editor, not only in the log: the user pasted here for this command.
    if (verdict.kind === 'not-a-span') this.events.onPastedNothing(verdict.why);
    else this.events.onPasted(text);
  }

  /** The span to replay: the one named, the only one, or the user's pick; undefined when the pick is dismissed. */
  async chooseSpan(text: string, spans: CandidateSpan[], spanId: string | undefined): Promise<CandidateSpan | undefined> {
    if (spanId !== undefined) {
      const wanted = spanId.trim().toLowerCase();
      const match = spans.find((s) => s.spanId?.toLowerCase() === wanted);
      if (match) return match;
      parseSpan(text, { spanId }); // throws the precise "no such span" error
    }
    if (spans.length === 1) return spans[0];
    const picked = await vscode.window.showQuickPick(
      spans.map((span) => ({
        label: span.name ?? `prompt ${String(firstPresent(span.attributes, PROMPT_NAME_ATTRIBUTES))}`,
        description: `${String(firstPresent(span.attributes, PROMPT_NAME_ATTRIBUTES))} v${String(firstPresent(span.attributes, PROMPT_VERSION_ATTRIBUTES) ?? '?')}`,
        detail: describeSpan(span),
        span,
      })),
      { title: `Replay Trace: this paste holds ${spans.length} LLM spans`, placeHolder: 'Pick the span to replay', matchOnDetail: true, ignoreFocusOut: true },
    );
    return picked?.span;
  }

  /** The variables of an inputs file (a JSON object of variables, or one eval example). */
  async readInputs(inputs: vscode.Uri | string): Promise<ReplayInputs> {
    const uri = typeof inputs === 'string' ? vscode.Uri.file(inputs) : inputs;
    const name = basename(uri.path);
    let size: number;
    try {
      size = (await vscode.workspace.fs.stat(uri)).size;
    } catch {
      throw new ReplayError('bad-inputs-file', `inputs file ${name} can't be read: no such file`);
    }
    if (size > MAX_INPUTS_BYTES) throw new ReplayError('bad-inputs-file', `inputs file ${name} is ${(size / 1024 / 1024).toFixed(1)} MB; an inputs file holds one object of variables`);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    return { values: parseInputsFile(text, name), source: name };
  }
}

function isJsonDocument(document: vscode.TextDocument): boolean {
  return ['json', 'jsonc', 'jsonl', 'jsonlines'].includes(document.languageId) || /\.(json|jsonl|ndjson)$/i.test(document.uri.path);
}

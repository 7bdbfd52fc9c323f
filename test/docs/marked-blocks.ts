/**
 * Fenced code blocks of a markdown page, with the HTML comment that marks what a test does with them:
 *
 *   <!-- getting-started: run -->
 *   ```sh
 *   gcloud …
 *   ```
 */
export interface Block {
  /** The comment's text after the prefix (`run`, `not run (IAM); …`), or undefined when unmarked. */
  mark: string | undefined;
  lang: string;
  body: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
}

export function fencedBlocks(markdown: string, prefix: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const markRe = new RegExp(`^<!--\\s*${prefix}:\\s*(.*?)\\s*-->$`);
  let pendingMark: string | undefined;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] as string;
    const mark = markRe.exec(line.trim());
    if (mark) {
      pendingMark = mark[1];
      continue;
    }
    const fence = /^```(\w*)\s*$/.exec(line);
    if (!fence) {
      // A mark applies to the block right after it, nothing further down.
      if (line.trim() !== '') pendingMark = undefined;
      continue;
    }
    const start = n;
    const body: string[] = [];
    for (n++; n < lines.length && lines[n] !== '```'; n++) body.push(lines[n] as string);
    if (n >= lines.length) throw new Error(`unclosed code block at line ${start + 1}`);
    blocks.push({ mark: pendingMark, lang: fence[1] ?? '', body: `${body.join('\n')}\n`, line: start + 1 });
    pendingMark = undefined;
  }
  return blocks;
}

/** Blocks whose mark is exactly `mark`, or starts with it followed by a space or `(`. */
export function marked(blocks: Block[], mark: string): Block[] {
  return blocks.filter(
    (b) => b.mark !== undefined && (b.mark === mark || new RegExp(`^${mark}[ (;]`).test(b.mark)),
  );
}

/**
 * Text we did not write (a build log line) as it may be printed: every control character but tab is shown
 * in caret notation (ESC as ^[, CR as ^M), so the line can neither move the cursor, colour or hide text,
 * nor form GitLab's collapsible-section markers (`section_start:…\r\e[0K`), which need CR and ESC.
 */
export function visibleLine(line: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we replace
  return line.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code === 0x7f ? '^?' : `^${String.fromCharCode(code + 0x40)}`;
  });
}
